import net from 'node:net';

/**
 * A TCP proxy between the extractor and PostgreSQL on loopback, for injecting real network faults
 * and for reading what the client sends at the protocol level:
 * - `down()` / `up()`: the source is unreachable (connection refused) or back;
 * - `killAfterServerBytes(n)`: cut the connection once after n bytes from the server (mid-COPY);
 * - `statements`: SQL text of every Query ('Q') and Parse ('P') message clients sent.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private killAfter: number | undefined;
  readonly statements: string[] = [];
  port = 0;

  constructor(private readonly targetPort: number) {}

  async up(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => this.connect(client));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Stop listening and drop every open connection: the source is unreachable. */
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  killAfterServerBytes(bytes: number): void {
    this.killAfter = bytes;
  }

  private connect(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    let fromServer = 0;
    let pending = Buffer.alloc(0);
    let startupSeen = false;
    client.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      // The startup packet has no type byte; every later message is type (1) + length (4) + body.
      if (!startupSeen && pending.length >= 4) {
        const len = pending.readInt32BE(0);
        if (pending.length < len) return void upstream.write(d);
        pending = pending.subarray(len);
        startupSeen = true;
      }
      while (startupSeen && pending.length >= 5) {
        const type = String.fromCharCode(pending[0]!);
        const len = pending.readInt32BE(1);
        if (pending.length < len + 1) break;
        const body = pending.subarray(5, len + 1);
        if (type === 'Q') this.statements.push(body.subarray(0, body.indexOf(0)).toString('utf8'));
        if (type === 'P') {
          const nameEnd = body.indexOf(0);
          this.statements.push(body.subarray(nameEnd + 1, body.indexOf(0, nameEnd + 1)).toString('utf8'));
        }
        pending = pending.subarray(len + 1);
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      fromServer += d.length;
      if (this.killAfter !== undefined && fromServer >= this.killAfter) {
        this.killAfter = undefined;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(d);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }
}
