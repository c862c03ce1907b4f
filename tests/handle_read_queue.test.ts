import assert from "node:assert/strict";
import {
  defineReadType,
  Handle,
  HandleError,
  type LineOptions,
  NEED_MORE,
  type ReadBuffer,
} from "../mod.ts";
import { everySplit, scripted } from "../testing/mod.ts";
import { deferred, pair, tick, writeAll } from "./_net.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Queues six reads of different kinds; resolves with what they got, in order. */
function queueMixed(h: Handle): Promise<unknown[]> {
  const seen: unknown[] = [];
  const done = deferred<unknown[]>();
  h.pushRead("line", (_h, line, eol) => seen.push(["line", line, eol]));
  h.pushRead("chunk", 3, (_h, b) => seen.push(["chunk", text(b)]));
  h.pushRead("line", ";", (_h, line) => seen.push(["line;", line]));
  h.pushRead("chunk", 0, (_h, b) => seen.push(["chunk0", b.length]));
  h.pushRead((h) => {
    // A custom reader: a 2-byte length-free token "<x>".
    const end = h.rbuf.indexOf(0x3e);
    if (end < 0) return false;
    seen.push(["custom", h.rbuf.text(0, end + 1)]);
    h.rbuf.consume(end + 1);
    return true;
  });
  h.pushRead("line", /\|\|/, (_h, line, eol) => {
    seen.push(["regexp", line, eol]);
    done.resolve(seen);
  });
  return done.promise;
}
const MIXED = "héllo\r\nabcfield;<tok>last||";
const MIXED_EXPECTED = [
  ["line", "héllo", "\r\n"],
  ["chunk", "abc"],
  ["line;", "field"],
  ["chunk0", 0],
  ["custom", "<tok>"],
  ["regexp", "last", "||"],
];

Deno.test("queue: mixed read types in one queue, the peer sending everything in one write", async () => {
  const p = await pair();
  const result = queueMixed(p.h);
  await writeAll(p.peer, MIXED);
  assert.deepEqual(await result, MIXED_EXPECTED);
  await p.close();
});

Deno.test("queue: the same mixed queue with the input cut at every byte boundary", async () => {
  for (const reads of everySplit(MIXED)) {
    const peer = scripted().send(...reads).end();
    const h = new Handle(peer.conn, { onEof: (h) => h.destroy() });
    assert.deepEqual(await queueMixed(h), MIXED_EXPECTED, `reads of ${reads.map((r) => r.length)}`);
    await peer.done;
  }
});

Deno.test("queue: unshiftRead runs before older reads, two unshifts run last-in first-out", async () => {
  const p = await pair();
  const order: string[] = [];
  const done = deferred();
  p.h.pushRead("line", (h, line) => {
    order.push(`A:${line}`);
    h.pushRead("line", (_h, line) => {
      order.push(`A-pushed:${line}`);
      done.resolve();
    });
    h.unshiftRead("line", (_h, line) => order.push(`A-unshifted-1:${line}`));
    h.unshiftRead("line", (_h, line) => order.push(`A-unshifted-2:${line}`));
  });
  p.h.pushRead("line", (_h, line) => order.push(`B:${line}`));
  await writeAll(p.peer, "1\n2\n3\n4\n5\n");
  await done.promise;
  assert.deepEqual(order, ["A:1", "A-unshifted-2:2", "A-unshifted-1:3", "B:4", "A-pushed:5"]);
  await p.close();
});

Deno.test("queue: a read pushed from a callback is served in the same dispatch", async () => {
  const p = await pair();
  const lines: string[] = [];
  const done = deferred();
  const onLine = (h: Handle, line: string) => {
    lines.push(line);
    if (line === "c") done.resolve();
    else h.pushRead("line", onLine);
  };
  p.h.pushRead("line", onLine);
  await writeAll(p.peer, "a\nb\nc\n");
  await done.promise;
  assert.deepEqual(lines, ["a", "b", "c"]);
  await p.close();
});

Deno.test("queue: destroy inside the first of two satisfiable callbacks stops the second", async () => {
  const p = await pair();
  const calls: string[] = [];
  p.h.pushRead("line", (h, line) => {
    calls.push(line);
    h.destroy();
  });
  p.h.pushRead("line", (_h, line) => calls.push(line));
  await writeAll(p.peer, "one\ntwo\n");
  await p.h.closed;
  assert.deepEqual(calls, ["one"]);
  await p.close();
});

Deno.test("queue: stopRead in a callback keeps later data undelivered until startRead", async () => {
  const p = await pair();
  const lines: string[] = [];
  const second = deferred();
  p.h.pushRead("line", (h, line) => {
    lines.push(line);
    h.stopRead();
  });
  p.h.pushRead("line", (_h, line) => {
    lines.push(line);
    second.resolve();
  });
  await writeAll(p.peer, "first\n");
  await tick(20);
  await writeAll(p.peer, "second\n");
  await tick(50);
  assert.deepEqual(lines, ["first"]);
  p.h.startRead();
  await second.promise;
  assert.deepEqual(lines, ["first", "second"]);
  await p.close();
});

Deno.test("queue: onRead runs only when the queue is empty, and reads it pushes run first", async () => {
  const seen: string[] = [];
  const done = deferred();
  const p = await pair({
    onRead(h) {
      seen.push(`onRead:${h.rbuf.text()}`);
      if (h.rbuf.text() === "bcdef") {
        h.pushRead("chunk", 2, (_h, b) => seen.push(`chunk:${text(b)}`));
      } else if (h.rbuf.text() === "def") {
        h.rbuf.consume(3);
        done.resolve();
      }
    },
  });
  p.h.pushRead("chunk", 1, (_h, b) => seen.push(`queued:${text(b)}`));
  await writeAll(p.peer, "abcdef");
  await done.promise;
  assert.deepEqual(seen, ["queued:a", "onRead:bcdef", "chunk:bc", "onRead:def"]);
  await p.close();
});

Deno.test("queue: setting onRead later dispatches what is already buffered", async () => {
  const p = await pair();
  p.h.pushRead("chunk", 1, () => {});
  await writeAll(p.peer, "xyz");
  await tick(20);
  assert.equal(p.h.rbuf.text(), "yz");
  let got = "";
  p.h.onRead = (h) => {
    got = h.rbuf.text();
    h.rbuf.consume(h.rbuf.length);
  };
  assert.equal(got, "yz");
  await p.close();
});

Deno.test("queue: promise reads and callback reads share one queue, in order", async () => {
  const p = await pair();
  let viaCallback = "";
  const first = p.h.read("line");
  p.h.pushRead("chunk", 2, (_h, b) => viaCallback = text(b));
  const third = p.h.read("chunk", 3);
  await writeAll(p.peer, "L1\nABxyz");
  assert.equal(await first, "L1");
  assert.equal(text(await third), "xyz");
  assert.equal(viaCallback, "AB");
  await p.close();
});

Deno.test("iterate: yields every line and ends cleanly at end of input", async () => {
  const p = await pair();
  await writeAll(p.peer, "a\nb\r\n\nlast\n");
  p.peer.close();
  const lines: string[] = [];
  for await (const line of p.h.iterate("line")) lines.push(line);
  assert.deepEqual(lines, ["a", "b", "", "last"]);
  assert.equal(p.h.destroyed, false);
  await p.close();
});

Deno.test("iterate: break leaves the bytes not yet decoded for the next reader", async () => {
  const p = await pair();
  await writeAll(p.peer, "one\ntwo\nthree\nrest");
  const lines: string[] = [];
  for await (const line of p.h.iterate("line")) {
    lines.push(line);
    if (lines.length === 2) break;
  }
  assert.deepEqual(lines, ["one", "two"]);
  assert.equal(text(await p.h.read("chunk", 10)), "three\nrest");
  await p.close();
});

Deno.test("iterate: end of input in the middle of a line throws EPIPE", async () => {
  const p = await pair();
  await writeAll(p.peer, "whole\npart");
  p.peer.close();
  const lines: string[] = [];
  await assert.rejects(
    async () => {
      for await (const line of p.h.iterate("line")) lines.push(line);
    },
    (e) => e instanceof HandleError && e.code === "EPIPE" && e.fatal,
  );
  assert.deepEqual(lines, ["whole"]);
  await p.close();
});

Deno.test("iterate: interleaves with other reads through the queue", async () => {
  const p = await pair();
  await writeAll(p.peer, "h1\nh2\n");
  const it = p.h.iterate("line");
  const first = it.next();
  const chunk = p.h.read("chunk", 3);
  assert.deepEqual(await first, { value: "h1", done: false });
  assert.equal(text(await chunk), "h2\n");
  await it.return();
  await p.close();
});

Deno.test("queue: a callback re-pushed from itself, twice, and unshifted, keeps the order", async () => {
  const p = await pair();
  const seen: string[] = [];
  const done = deferred();
  let calls = 0;
  const onLine = (h: Handle, line: string, eol: string) => {
    seen.push(`${line}${eol === "\r\n" ? "+" : ""}`);
    calls++;
    if (calls === 1) {
      // The same callback queued twice: both reads are served, in order.
      h.pushRead("line", onLine);
      h.pushRead("line", onLine);
    } else if (calls === 2) {
      h.pushRead("chunk", 1, (h, b) => {
        seen.push(`chunk ${text(b)}`);
        h.unshiftRead("line", onLine);
      });
    } else if (calls < 6) h.pushRead("line", onLine);
    else done.resolve();
  };
  p.h.pushRead("line", onLine);
  await writeAll(p.peer, "a\r\nb\nc\nXd\ne\nf\n");
  await done.promise;
  assert.deepEqual(seen, ["a+", "b", "c", "chunk X", "d", "e", "f"]);
  await p.close();
});

/** Ends a handle whose re-pushed read meets the end of input (EPIPE), failing on anything else. */
function endsWithEpipe(h: Handle, e: HandleError): void {
  assert.equal(e.code, "EPIPE");
  h.destroy();
}

Deno.test("queue: re-pushed line callbacks get each line and its marker at every split", async () => {
  // Without a tuple per line (the decoders hand the marker over through lastSecond), the
  // marker of every line must still be that line's own, for every kind of line decoder.
  const input = "a\r\nb\n\r\nc\r\r\n\nd\n";
  const byDefault = [["a", "\r\n"], ["b", "\n"], ["", "\r\n"], ["c\r", "\r\n"], ["", "\n"], [
    "d",
    "\n",
  ]];
  const cases: [LineOptions, string[][]][] = [
    [{}, byDefault],
    [{ eol: "\r\n" }, [["a", "\r\n"], ["b\n", "\r\n"], ["c\r", "\r\n"]]],
    [{ eol: /\r\n|\n/ }, byDefault],
    // Over-long lines skipped: "c\r" is two bytes.
    [
      { maxLength: 1, discard: true },
      byDefault.map((pair) => pair[0] === "c\r" ? ["skipped"] : pair),
    ],
  ];
  for (const [options, expected] of cases) {
    for (const reads of everySplit(input)) {
      const peer = scripted().send(...reads).end();
      const seen: string[][] = [];
      const onLine = (h: Handle, line: string, marker: string) => {
        seen.push([line, marker]);
        h.pushRead("line", options, onLine);
      };
      const h = new Handle(peer.conn, {
        onError(h, e) {
          if (e.code === "EMSGSIZE" && !e.fatal) seen.push(["skipped"]);
          else endsWithEpipe(h, e);
        },
      });
      h.pushRead("line", options, onLine);
      await h.closed.catch(() => {});
      const label = `${Deno.inspect(options)}, reads of ${reads.map((r) => r.length)}`;
      assert.deepEqual(seen, expected, label);
      await peer.done;
    }
  }
});

/**
 * Decodes "k=v;" frames into `[k, v]` pairs, with `decodeFirst` and `lastSecond`, and
 * `decodeEof` too if asked; `tuples` counts the tuples it makes.
 */
class KeyValueDecoder {
  tuples = 0;
  #value = "";
  decodeEof?: (buf: ReadBuffer) => readonly [string, string] | typeof NEED_MORE;

  constructor(withEof: boolean) {
    if (withEof) this.decodeEof = (buf) => this.decode(buf);
  }

  decode(buf: ReadBuffer): readonly [string, string] | typeof NEED_MORE {
    const key = this.decodeFirst(buf);
    if (key === NEED_MORE) return key;
    this.tuples++;
    return [key, this.#value];
  }

  decodeFirst(buf: ReadBuffer): string | typeof NEED_MORE {
    const end = buf.indexOf(0x3b);
    if (end < 0) return NEED_MORE;
    const [key, value] = buf.text(0, end).split("=");
    buf.consume(end + 1);
    this.#value = value;
    return key;
  }

  lastSecond(): string {
    return this.#value;
  }
}

Deno.test("queue: a spreading type with decodeFirst and lastSecond gives callbacks pairs without tuples, unless it has decodeEof", async () => {
  for (const withEof of [false, true]) {
    const decoder = new KeyValueDecoder(withEof);
    const kv = defineReadType("kv", () => decoder, { spread: true });
    const peer = scripted().send("a=1;b=", "2;c=3;").end();
    const seen: string[] = [];
    const onPair = (h: Handle, key: string, value: string) => {
      seen.push(`${key}:${value}`);
      h.pushRead(kv, onPair);
    };
    const h = new Handle(peer.conn, { onError: endsWithEpipe });
    h.pushRead(kv, onPair);
    await h.closed.catch(() => {});
    await peer.done;
    assert.deepEqual(seen, ["a:1", "b:2", "c:3"]);
    // With decodeEof the end of input may make a tuple, so every frame comes as one.
    assert.equal(decoder.tuples, withEof ? 3 : 0);
  }
});
