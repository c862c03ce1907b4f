/**
 * The test kit (`@anyevent/handle/testing`) tested: every failure of a script with its exact
 * message, the success paths, the time limit, a reset, the end of the handle's output, and
 * everySplit. Last, a tiny key-value server tested with the kit and, for comparison, over a
 * real loopback socket with the same bytes.
 */
import assert from "node:assert/strict";
import { Handle, HandleError } from "../mod.ts";
import { everySplit, scripted, type ScriptedPeer } from "../testing/mod.ts";
import { describeBytes } from "../testing/_hex.ts";
import { connected, readAll, writeAll } from "./_net.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Asserts that `peer.done` rejects with exactly `message`. */
async function failsWith(peer: ScriptedPeer, message: string): Promise<void> {
  await assert.rejects(peer.done, (e) => {
    assert.ok(e instanceof Error);
    assert.equal(e.message, message);
    return true;
  });
}

/** A handle that keeps each read's bytes apart, and destroys itself at end of input. */
function recorder(peer: ScriptedPeer): { h: Handle; reads: string[] } {
  const reads: string[] = [];
  const h = new Handle(peer.conn, {
    onRead(h) {
      reads.push(h.rbuf.text());
      h.rbuf.consume(h.rbuf.length);
    },
    onEof: (h) => h.destroy(),
  });
  return { h, reads };
}

// --- success paths ---

Deno.test("kit: each argument of send is one read, in order, and done resolves at close", async () => {
  const peer = scripted().send("ab", new Uint8Array([0x63]), "", "déf").send("g").end();
  const { h, reads } = recorder(peer);
  await peer.done;
  assert.deepEqual(reads, ["ab", "c", "déf", "g"], "(a read of 0 bytes calls no onRead)");
  assert.equal(h.destroyed, true);
});

Deno.test("kit: a chunk larger than the handle's read fills it and the rest comes next", async () => {
  const big = Uint8Array.from({ length: 100_000 }, (_, i) => i & 0xff);
  const peer = scripted().send(big).end();
  const h = new Handle(peer.conn, { readSize: 4096, maxReadSize: 4096 });
  assert.deepEqual(await h.read("chunk", big.length), big);
  await assert.rejects(h.read("chunk", 1), { code: "EPIPE" });
  await peer.done;
});

Deno.test("kit: expect takes the handle's writes in any cut: many writes, or one write for two expects", async () => {
  const peer = scripted().expect("hello world\n").expect("A").expect("B").expectEnd();
  const h = new Handle(peer.conn);
  for (const piece of ["he", "llo", " ", "world\n"]) {
    h.pushWrite(piece);
    await h.drain();
  }
  h.pushWrite("AB");
  h.pushShutdown();
  await h.drain();
  h.destroy();
  await peer.done;
});

Deno.test("kit: input after an expect waits for it: a pending read stays pending until the write", async () => {
  const peer = scripted().send("question\n").expect("answer\n").send("thanks\n").end();
  const h = new Handle(peer.conn, { onEof: (h) => h.destroy() });
  assert.equal(await h.read("line"), "question");
  const next = h.read("line");
  let settled = false;
  next.then(() => settled = true);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(settled, false, "nothing is read before the expected write");
  h.pushWrite("answer\n");
  assert.equal(await next, "thanks");
  await peer.done;
});

Deno.test("kit: wait delays the next step; a write during a wait meets the expect after it", async () => {
  const peer = scripted().send("a\n").wait(60).expect("early\n").send("b\n").end();
  const h = new Handle(peer.conn, { onEof: (h) => h.destroy() });
  const t0 = performance.now();
  assert.equal(await h.read("line"), "a");
  h.pushWrite("early\n"); // during the wait
  assert.equal(await h.read("line"), "b");
  assert.ok(performance.now() - t0 >= 55, `b came after ${performance.now() - t0} ms`);
  await peer.done;
});

Deno.test("kit: an empty script is done when the handle closes", async () => {
  const peer = scripted();
  new Handle(peer.conn).destroy();
  await peer.done;
});

Deno.test("kit: end of input reaches the handle as EOF: onEof, or EPIPE for an unfinished read", async () => {
  const eof = scripted().send("x").end();
  let eofCalled = false;
  const h = new Handle(eof.conn, {
    onRead: (h) => h.rbuf.consume(h.rbuf.length),
    onEof: (h) => {
      eofCalled = true;
      h.destroy();
    },
  });
  await eof.done;
  await h.closed;
  assert.equal(eofCalled, true);

  const partial = scripted().send("no end").end();
  const h2 = new Handle(partial.conn);
  await assert.rejects(h2.read("line"), { code: "EPIPE", fatal: true });
  await partial.done;
});

// --- reset and the end of the handle's output ---

Deno.test("kit: reset makes the handle's next read fail with a fatal ECONNRESET", async () => {
  const peer = scripted().send("partial li").reset();
  const errors: HandleError[] = [];
  const h = new Handle(peer.conn, { onError: (_h, e) => errors.push(e) });
  await assert.rejects(h.read("line"), (e) => {
    assert.ok(e instanceof HandleError);
    assert.equal(e.code, "ECONNRESET");
    assert.equal(e.fatal, true);
    assert.equal(e.message, "Cannot read: Connection reset by peer");
    assert.ok(e.cause instanceof Deno.errors.ConnectionReset);
    return true;
  });
  assert.deepEqual(errors.map((e) => e.code), ["ECONNRESET"]);
  await peer.done;
});

Deno.test("kit: expectEnd is met by pushShutdown (a half-close), after the queued bytes", async () => {
  const peer = scripted().expect("request\n").expectEnd().send("reply\n").end();
  const eof = Promise.withResolvers<void>();
  const h = new Handle(peer.conn, { onEof: () => eof.resolve() });
  h.pushWrite("request\n");
  h.pushShutdown();
  assert.equal(await h.read("line"), "reply");
  await eof.promise;
  h.destroy();
  await peer.done;
});

Deno.test("kit: expectEnd is met by destroy, and the bytes queued before it leave first", async () => {
  const peer = scripted().send("QUIT\r\n").expect("221 bye\r\n").expectEnd();
  const h = new Handle(peer.conn);
  assert.equal(await h.read("line"), "QUIT");
  h.pushWrite("221 bye\r\n");
  h.destroy();
  await peer.done;
});

// --- every failure, with its message ---

Deno.test("kit: a write that differs names the step and shows both bytes in hex and text", async () => {
  const peer = scripted().send("220 hi\r\n").expect("EHLO me\r\n").send("250 ok\r\n");
  const h = new Handle(peer.conn, { onError: () => {} });
  await h.read("line");
  h.pushWrite("EHLO ");
  await h.drain();
  h.pushWrite("you\r\n");
  await failsWith(
    peer,
    "step 2 expect: the handle wrote bytes that differ from the expected ones, at byte 5\n" +
      '  expected: 45 48 4c 4f 20 6d 65 0d 0a  "EHLO me\\r\\n"\n' +
      '  actual:   45 48 4c 4f 20 79 6f 75 0d 0a  "EHLO you\\r\\n"',
  );
  // The peer hangs up: the handle fails with ECONNRESET, whose message says why.
  await assert.rejects(h.closed, (e) => {
    assert.ok(e instanceof HandleError);
    assert.equal(e.code, "ECONNRESET");
    assert.match(e.message, /^Cannot write: step 2 expect: the handle wrote bytes that differ/);
    return true;
  });
});

Deno.test("kit: a write after the last step is more than expected", async () => {
  const peer = scripted().expect("ok\n");
  const h = new Handle(peer.conn, { onError: () => {} });
  h.pushWrite("ok\nmore");
  await failsWith(
    peer,
    "step 1 expect: the handle wrote 4 bytes more than expected, after the last step\n" +
      "  expected: (none)\n" +
      '  actual:   6d 6f 72 65  "more"',
  );
  await assert.rejects(h.closed, { code: "ECONNRESET" });
});

Deno.test("kit: a write before a send has run is more than expected (the handle spoke first)", async () => {
  const peer = scripted().wait(50).send("220 ready\r\n").expect("HELO\r\n");
  const h = new Handle(peer.conn, { onError: () => {} });
  h.pushWrite("HELO\r\n"); // without waiting for the greeting
  await failsWith(
    peer,
    "step 2 send: the handle wrote 6 bytes more than expected, before this step ran\n" +
      "  expected: (none)\n" +
      '  actual:   48 45 4c 4f 0d 0a  "HELO\\r\\n"',
  );
  await assert.rejects(h.closed, { code: "ECONNRESET" });
});

Deno.test("kit: a write where the output should end is more than expected", async () => {
  const peer = scripted().expect("bye\n").expectEnd();
  const h = new Handle(peer.conn, { onError: () => {} });
  h.pushWrite("bye\n\x00");
  await failsWith(
    peer,
    "step 2 expectEnd: the handle wrote 1 bytes more than expected, where its output should " +
      "end\n  expected: (none)\n" +
      '  actual:   00  "\\x00"',
  );
  await assert.rejects(h.closed, { code: "ECONNRESET" });
});

Deno.test("kit: closing while steps are left fails, showing what the expect still wanted", async () => {
  const peer = scripted().expect("one\ntwo\n").send("x").end();
  const h = new Handle(peer.conn);
  h.pushWrite("one\n");
  await h.drain();
  h.destroy();
  await failsWith(
    peer,
    "step 1 expect: the handle closed with 3 steps left\n" +
      '  expected: 6f 6e 65 0a 74 77 6f 0a  "one\\ntwo\\n"\n' +
      '  actual:   6f 6e 65 0a  "one\\n"',
  );
});

Deno.test("kit: closing during a wait fails: the steps after it never ran", async () => {
  const peer = scripted().wait(1000).send("late");
  new Handle(peer.conn).destroy();
  await failsWith(peer, "step 1 wait: the handle closed with 2 steps left");
});

Deno.test("kit: closing without reading what was sent fails, showing the bytes", async () => {
  const peer = scripted().send("GET a\n", "GET b\n");
  const h = new Handle(peer.conn);
  assert.equal(text(await h.read("chunk", 3)), "GET");
  h.stopRead();
  h.destroy();
  await failsWith(
    peer,
    "step 1 send: the handle closed without reading 6 bytes\n" +
      '  unread:   47 45 54 20 62 0a  "GET b\\n"',
  );
});

Deno.test("kit: half-closing before the expected bytes fails", async () => {
  const peer = scripted().expect("data");
  const h = new Handle(peer.conn, { onError: () => {} });
  h.pushShutdown();
  await failsWith(
    peer,
    "step 1 expect: the handle ended its output (closeWrite) before writing the expected " +
      'bytes\n  expected: 64 61 74 61  "data"\n  actual:   (none)',
  );
  h.destroy();
});

Deno.test("kit: steps left after the time limit fail with the step; the handle's next read is reset", async () => {
  const peer = scripted({ timeout: 80 }).send("PING\r\n").expect("PONG\r\n");
  const h = new Handle(peer.conn, { onError: () => {} });
  assert.equal(await h.read("line"), "PING");
  h.pushWrite("PO");
  await failsWith(
    peer,
    "step 2 expect: still waiting after 80 ms, with 1 step left\n" +
      '  expected: 50 4f 4e 47 0d 0a  "PONG\\r\\n"\n' +
      '  actual:   50 4f  "PO"',
  );
  // With no read in flight the handle cannot notice the peer hanging up: it stays open.
  assert.equal(h.destroyed, false);
  const read = h.read("line");
  await assert.rejects(read, { code: "ECONNRESET" });
});

Deno.test("kit: a handle still open after every step, or with input unread, fails at the time limit", async () => {
  const open = scripted({ timeout: 50 }).send("x");
  const h = new Handle(open.conn, { onError: () => {} });
  assert.equal(text(await h.read("chunk", 1)), "x");
  const read = h.read("chunk", 1);
  await failsWith(open, "step 1 send: every step ran, but the handle is still open after 50 ms");
  await assert.rejects(read, { code: "ECONNRESET" });

  const unread = scripted({ timeout: 50 }).send("abc");
  const stopped = new Handle(unread.conn);
  await failsWith(
    unread,
    "step 1 send: the handle has not read 3 bytes after 50 ms\n" +
      '  unread:   61 62 63  "abc"',
  );
  stopped.destroy();
});

Deno.test("kit: long bytes show a window around the first difference, with the count", () => {
  const bytes = new TextEncoder().encode("x".repeat(100) + "Y" + "x".repeat(20));
  const line = describeBytes(bytes, 100);
  assert.ok(line.startsWith("… 78 78"), line);
  assert.ok(line.includes("59"), "the differing byte is in view");
  assert.ok(line.endsWith("(121 bytes, from byte 73)"), line);
  assert.equal(
    describeBytes(new Uint8Array([0, 0x7f, 0xff, 0x22, 0x5c, 9])),
    '00 7f ff 22 5c 09  "\\x00\\x7f\\xff\\"\\\\\\t"',
  );
});

Deno.test("kit: mistakes in building a script throw at once", () => {
  assert.throws(() => scripted().end().send("x"), TypeError);
  assert.throws(() => scripted().reset().end(), TypeError);
  assert.throws(() => scripted().wait(-1), RangeError);
  assert.throws(() => scripted().wait(Infinity), RangeError);
  assert.throws(() => scripted({ timeout: 0 }), RangeError);
  assert.throws(() => scripted().expect(5 as never), TypeError);
});

Deno.test("kit: a script cannot grow once it has finished", async () => {
  const peer = scripted();
  new Handle(peer.conn).destroy();
  await peer.done;
  assert.throws(() => peer.send("x"), TypeError);
});

// --- everySplit ---

Deno.test("everySplit: whole, every cut in two, then byte by byte: n + 1 ways for n bytes", () => {
  const sizes = (ways: Uint8Array[][]) => ways.map((reads) => reads.map((r) => r.length).join("+"));
  assert.deepEqual(sizes([...everySplit("abcd")]), ["4", "1+3", "2+2", "3+1", "1+1+1+1"]);
  assert.deepEqual(sizes([...everySplit("ab")]), ["2", "1+1", "1+1"]);
  assert.deepEqual([...everySplit("a")], [[new Uint8Array([0x61])]]);
  assert.deepEqual([...everySplit("")], [[]]);
  const bytes = Uint8Array.from({ length: 50 }, (_, i) => i);
  const ways = [...everySplit(bytes)];
  assert.equal(ways.length, 51);
  for (const reads of ways) {
    assert.deepEqual(new Uint8Array(reads.flatMap((r) => [...r])), bytes);
  }
  assert.equal([...everySplit("é")].length, 3, "a string is its UTF-8 bytes");
  ways[0][0][0] = 99;
  assert.equal(bytes[0], 0, "the reads are copies");
});

// --- a tiny protocol handler, tested with the kit and over a real socket ---

/**
 * The code under test: a key-value store speaking `SET key length\r\n<bytes>\r\n` (answered
 * `STORED`), `GET key` (answered `VALUE length\r\n<bytes>\r\n` or `NOT_FOUND`) and `QUIT`
 * (answered `BYE`, then the connection closes).
 */
function kvServer(h: Handle, store = new Map<string, Uint8Array>()): void {
  const command = () =>
    h.pushRead("line", (h, line) => {
      const [verb, key, length] = line.split(" ");
      if (verb === "SET") {
        h.pushRead("chunk", Number(length) + 2, (h, data) => {
          store.set(key, data.slice(0, -2));
          h.pushWrite("STORED\r\n");
          command();
        });
      } else if (verb === "GET") {
        const value = store.get(key);
        if (value === undefined) h.pushWrite("NOT_FOUND\r\n");
        else {
          h.pushWrite(`VALUE ${value.length}\r\n`);
          h.pushWrite(value);
          h.pushWrite("\r\n");
        }
        command();
      } else if (verb === "QUIT") {
        h.pushWrite("BYE\r\n");
        h.destroy();
      } else {
        h.pushWrite("ERROR\r\n");
        command();
      }
    });
  command();
}

const SESSION_IN = "SET k 5\r\nab\r\nc\r\nGET k\r\nGET nope\r\nQUIT\r\n";
const SESSION_OUT = "STORED\r\nVALUE 5\r\nab\r\nc\r\nNOT_FOUND\r\nBYE\r\n";

Deno.test("kit self-test: a key-value server gives the same replies however its input is cut", async () => {
  let ways = 0;
  for (const reads of everySplit(SESSION_IN)) {
    const peer = scripted().send(...reads).expect(SESSION_OUT).expectEnd();
    kvServer(new Handle(peer.conn));
    await peer.done;
    ways++;
  }
  assert.equal(ways, SESSION_IN.length + 1);
});

Deno.test("kit self-test: the key-value server's exchange, step by step", async () => {
  const peer = scripted()
    .send("GET k\r\n")
    .expect("NOT_FOUND\r\n")
    .send("SET k 2\r\n")
    .wait(20) // the value comes later: the server must wait for it
    .send("hi\r\n")
    .expect("STORED\r\n")
    .send("BOGUS\r\nGET k\r\n")
    .expect("ERROR\r\nVALUE 2\r\nhi\r\n")
    .send("QUIT\r\n")
    .expect("BYE\r\n")
    .expectEnd();
  kvServer(new Handle(peer.conn));
  await peer.done;
});

Deno.test("kit self-test: the kit catches a bug in the server (a reply to an unknown command missing)", async () => {
  const buggy = (h: Handle) =>
    h.pushRead("line", (h) => {
      h.pushWrite("BYE\r\n"); // treats every command as QUIT
      h.destroy();
    });
  const peer = scripted().send("BOGUS\r\n").expect("ERROR\r\n").expectEnd();
  buggy(new Handle(peer.conn, { onError: () => {} }));
  await failsWith(
    peer,
    "step 2 expect: the handle wrote bytes that differ from the expected ones, at byte 0\n" +
      '  expected: 45 52 52 4f 52 0d 0a  "ERROR\\r\\n"\n' +
      '  actual:   42 59 45 0d 0a  "BYE\\r\\n"',
  );
});

Deno.test("kit self-test: the same session over a real loopback socket gives the same bytes", async () => {
  const { conn, peer } = await connected();
  const h = new Handle(conn);
  kvServer(h);
  await writeAll(peer, SESSION_IN);
  assert.equal(text(await readAll(peer)), SESSION_OUT);
  peer.close();
  await h.closed;
});
