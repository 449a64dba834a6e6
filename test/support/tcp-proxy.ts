import net from 'node:net';

/**
 * A TCP proxy between the extractor and PostgreSQL on loopback, for injecting real network faults
 * and for reading what the client sends at the protocol level:
 * - `down()` / `up()`: the source is unreachable (connection refused) or back;
 * - `killAfterServerBytes(n)`: cut the connection once after n bytes from the server (mid-COPY);
 * - `holdAfterCopyDone(ms)`: hold what the server sends after each CopyDone for ms — PostgreSQL's
 *   CommandComplete (the COPY's row count) then arrives well after the COPY's data has ended;
 * - `killAtQuery(prefix)`: cut the connection once, instead of forwarding the first Query ('Q') whose
 *   SQL starts with prefix (e.g. the session's BEGIN, right after a successful startup);
 * - `misreportCopyCount(delta)`: add delta to the row count of every COPY's CommandComplete ("COPY n"),
 *   as a server (or a defect between it and our stream) reporting other rows than it sent would;
 * - `statements`: SQL text of every Query ('Q') and Parse ('P') message clients sent.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private killAfter: number | undefined;
  private holdMs = 0;
  private killAt: string | undefined;
  private copyCountDelta = 0;
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

  misreportCopyCount(delta: number): void {
    this.copyCountDelta = delta;
  }

  killAtQuery(prefix: string): void {
    this.killAt = prefix;
  }

  holdAfterCopyDone(ms: number): void {
    this.holdMs = ms;
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
        if (type === 'Q') {
          const sql = body.subarray(0, body.indexOf(0)).toString('utf8');
          this.statements.push(sql);
          if (this.killAt !== undefined && sql.startsWith(this.killAt)) {
            this.killAt = undefined;
            client.destroy();
            upstream.destroy();
            return;
          }
        }
        if (type === 'P') {
          const nameEnd = body.indexOf(0);
          this.statements.push(body.subarray(nameEnd + 1, body.indexOf(0, nameEnd + 1)).toString('utf8'));
        }
        pending = pending.subarray(len + 1);
      }
      upstream.write(d);
    });
    // The server's messages are walked (type 1 + length 4 + body) only to find where each CopyDone
    // ('c', length 4, no body) ends; bytes go to the client in order, through one promise chain.
    let header = Buffer.alloc(0);
    let bodyLeft = 0;
    let toClient = Promise.resolve();
    const send = (bytes: Buffer, afterMs: number) => {
      toClient = toClient
        .then(() => (afterMs > 0 ? new Promise((resolve) => setTimeout(resolve, afterMs)) : undefined))
        .then(() => void (client.destroyed || bytes.length === 0 || client.write(bytes)));
    };
    upstream.on('data', (d: Buffer) => {
      fromServer += d.length;
      if (this.killAfter !== undefined && fromServer >= this.killAfter) {
        this.killAfter = undefined;
        client.destroy();
        upstream.destroy();
        return;
      }
      if (this.copyCountDelta !== 0) {
        // Whole messages only (a CommandComplete may be split across packets): re-framed, then sent.
        header = Buffer.concat([header, d]);
        while (header.length >= 5 && header.length >= header.readInt32BE(1) + 1) {
          let msg = header.subarray(0, header.readInt32BE(1) + 1);
          header = header.subarray(msg.length);
          const text = msg.subarray(5, msg.length - 1).toString('latin1');
          if (msg[0] === 0x43 && /^COPY \d+$/.test(text)) {
            const body = Buffer.from(`COPY ${Number(text.slice(5)) + this.copyCountDelta}\0`, 'latin1');
            msg = Buffer.concat([Buffer.from([0x43, 0, 0, 0, 0]), body]);
            msg.writeInt32BE(body.length + 4, 1);
          }
          send(msg, 0);
        }
        return;
      }
      if (this.holdMs === 0) return send(d, 0);
      let from = 0;
      let i = 0;
      while (i < d.length) {
        if (bodyLeft > 0) {
          const n = Math.min(bodyLeft, d.length - i);
          bodyLeft -= n;
          i += n;
          continue;
        }
        const n = Math.min(5 - header.length, d.length - i);
        header = Buffer.concat([header, d.subarray(i, i + n)]);
        i += n;
        if (header.length < 5) break;
        bodyLeft = header.readInt32BE(1) - 4;
        const copyDone = header[0] === 0x63 && bodyLeft === 0;
        header = Buffer.alloc(0);
        if (copyDone) {
          send(d.subarray(from, i), 0);
          send(Buffer.alloc(0), this.holdMs); // everything after the CopyDone waits behind this
          from = i;
        }
      }
      if (from < d.length) send(d.subarray(from), 0);
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
