/**
 * The third-party RESP codec in examples/resp.ts: registered from outside codecs/, typed by
 * declaration merging, used through a Handle over a socket.
 */
import assert from "node:assert/strict";
import { Handle } from "../mod.ts";
import { encodeResp, resp, respDecoder, RespError, type RespValue } from "../examples/resp.ts";
import { concat, sameEverySplit, utf8 } from "./_split.ts";

Deno.test("resp: every kind of value decodes the same at every split point", () => {
  const wire = utf8(
    "+OK\r\n-ERR unknown\r\n:1000\r\n:-5\r\n$6\r\nfoo\r\nb\r\n$-1\r\n*-1\r\n" +
      "*3\r\n:1\r\n*2\r\n+a\r\n$0\r\n\r\n$1\r\nx\r\n",
  );
  const out = sameEverySplit(() => respDecoder(), wire);
  assert.deepEqual(out.values, [
    "OK",
    new RespError("ERR unknown"),
    1000,
    -5,
    utf8("foo\r\nb"),
    null,
    null,
    [1, ["a", new Uint8Array()], utf8("x")],
  ]);
  assert.equal(out.left, 0);
});

Deno.test("resp: malformed input and oversized lengths are errors", () => {
  assert.equal(sameEverySplit(() => respDecoder(), utf8("?x\r\n")).error?.code, "EBADMSG");
  assert.equal(sameEverySplit(() => respDecoder(), utf8("$x\r\n")).error?.code, "EBADMSG");
  const big = sameEverySplit(() => respDecoder({ maxLength: 10 }), utf8("$11\r\n"));
  assert.equal(big.error?.code, "EMSGSIZE");
});

Deno.test("resp: a Handle sends commands and reads replies with the typed resp types", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = (async () => {
    const h = new Handle(await listener.accept());
    for await (const command of h.iterate(resp)) {
      const [name, ...args] = (command as Uint8Array[]).map((b) => new TextDecoder().decode(b));
      if (name === "PING") h.pushWrite(utf8("+PONG\r\n"));
      else if (name === "ECHO") h.pushWrite(resp, args[0]);
      else if (name === "MGET") h.pushWrite(resp, [1, null, ["nested", new RespError("E")]]);
      else h.pushWrite(resp, new RespError(`ERR unknown command '${name}'`));
    }
    h.destroy();
  })();
  const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
  h.pushWrite(resp, ["PING"]);
  h.pushWrite(resp, ["ECHO", "hé"]);
  h.pushWrite(concat(encodeResp(["MGET", "a"]), encodeResp(["NOPE"])));
  const replies: RespValue[] = [];
  for (let i = 0; i < 4; i++) replies.push(await h.read(resp));
  assert.deepEqual(replies, [
    "PONG",
    utf8("hé"),
    [1, null, [utf8("nested"), new RespError("E")]], // strings are written as bulk strings
    new RespError("ERR unknown command 'NOPE'"),
  ]);
  h.destroy();
  await server;
  listener.close();
});
