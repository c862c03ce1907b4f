import assert from "node:assert/strict";
import { Handle } from "../mod.ts";
import { spawnEchoChild } from "./_net.ts";

Deno.test("streams: a child process speaks a line protocol through fromStreams", async () => {
  const child = spawnEchoChild();
  const h = Handle.fromStreams(child.stdout, child.stdin, { onEof: () => {} });
  h.pushWrite("alpha\nbeta\n");
  assert.equal(await h.read("line"), "echo: alpha");
  assert.equal(await h.read("line"), "echo: beta");
  h.pushWrite("gamma\n");
  h.pushShutdown(); // the child sees end of input and says "done"
  const rest: string[] = [];
  for await (const line of h.iterate("line")) rest.push(line);
  assert.deepEqual(rest, ["echo: gamma", "done"]);
  assert.equal((await child.status).code, 0);
  h.destroy();
  await h.closed;
});

Deno.test("streams: end of input mid-frame is EPIPE; a TransformStream loops back", async () => {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const h = Handle.fromStreams(readable, writable, { onError: () => {} });
  h.pushWrite("complete\npartial");
  assert.equal(await h.read("line"), "complete");
  const partial = h.read("line");
  h.pushShutdown();
  await assert.rejects(partial, (e: Error & { code?: string }) => e.code === "EPIPE");
  await h.closed.catch(() => {});
});
