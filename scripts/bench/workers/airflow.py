"""Contender "airflow": what an Airflow PostgresToGCS-style operator does on a worker.

A DB-API server-side cursor (psycopg2 named cursor, fetched in batches) -> csv.writer -> gzip level 1,
the personal-data columns through hmac.new(key, value, sha256).hexdigest() so it honours the same policy
as the extractor. Run by /usr/bin/python3 with Debian's python3-psycopg2; prints one
`BENCH_RESULT {json}` line like the Node workers (scripts/bench/lib/proc.ts).

Usage: python3 airflow.py '<json config>'   (conn, select, outFile, hashColumns, keyHex, sessionOptions)
"""
import csv
import gzip
import hashlib
import hmac
import json
import os
import resource
import sys
import time

import psycopg2


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    c = json.loads(sys.argv[1])
    conn = c["conn"]
    key = bytes.fromhex(c["keyHex"])
    baseline_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    db = psycopg2.connect(
        host=conn["host"], port=conn["port"], user=conn["user"], password=conn["password"], dbname=conn["database"],
        options=c["sessionOptions"], application_name="bench-airflow",
    )
    t0, c0 = time.perf_counter(), cpu_s()
    rows = 0
    with db:  # one transaction: a named cursor lives inside it
        cur = db.cursor(name="bench_airflow")
        cur.itersize = 10000
        cur.execute(c["select"])
        with gzip.open(c["outFile"], "wt", compresslevel=1, newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            hashed = None
            while True:
                batch = cur.fetchmany(10000)
                if not batch:
                    break
                if hashed is None:
                    names = [d[0] for d in cur.description]
                    writer.writerow(names)
                    hashed = [names.index(n) for n in c["hashColumns"] if n in names]
                if hashed:
                    for row in batch:
                        row = list(row)
                        for i in hashed:
                            v = row[i]
                            if v:
                                row[i] = hmac.new(key, str(v).strip().encode("utf-8"), hashlib.sha256).hexdigest()
                        writer.writerow(row)
                else:
                    writer.writerows(batch)
                rows += len(batch)
        cur.close()
    wall_s, cpu = time.perf_counter() - t0, cpu_s() - c0
    db.close()
    measure = {
        "wallS": wall_s, "cpuS": cpu,
        "maxRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "baselineRssMb": baseline_rss_mb,
    }
    sys.stdout.write("BENCH_RESULT " + json.dumps({"rows": rows, "bytes": os.path.getsize(c["outFile"]), "measure": measure}) + "\n")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # the parent reads stderr's tail for the failure
        sys.stderr.write("%s: %s\n" % (type(e).__name__, e))
        sys.exit(1)
