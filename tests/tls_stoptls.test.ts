import assert from "node:assert/strict";
import { deferred } from "./_net.ts";
import { CLIENT, handlePair, SERVER } from "./_tls.ts";

const tlsPair = () =>
  handlePair({ tls: "connect", tlsOptions: CLIENT }, { tls: "accept", tlsOptions: SERVER });

Deno.test("stoptls: both ends go back to plaintext between two handles with onStoptls", async () => {
  const p = await tlsPair();
  const serverStopped = deferred();
  const clientStopped = deferred();
  p.server.onStoptls = (h) => {
    h.pushWrite("plain from server\n");
    serverStopped.resolve();
  };
  p.client.onStoptls = () => clientStopped.resolve();
  p.client.pushWrite("last over tls\n");
  assert.equal(await p.server.read("line"), "last over tls");
  p.client.stoptls();
  p.client.pushWrite("plain from client\n"); // leaves after the close_notify, unencrypted
  assert.equal(p.client.tls, false);
  await serverStopped.promise;
  assert.equal(p.server.tls, false);
  assert.equal(await p.server.read("line"), "plain from client");
  assert.equal(await p.client.read("line"), "plain from server");
  await clientStopped.promise;
  // And TLS again on the same connection.
  p.client.starttls("connect", CLIENT);
  p.server.starttls("accept", SERVER);
  p.client.pushWrite("tls again\n");
  assert.equal(await p.server.read("line"), "tls again");
  await p.close();
});

Deno.test("stoptls: without onStoptls the peer's close_notify is end of input", async () => {
  const p = await tlsPair();
  const eof = deferred();
  p.server.onEof = () => eof.resolve();
  p.client.pushWrite("bye\n");
  assert.equal(await p.server.read("line"), "bye");
  p.client.stoptls();
  await eof.promise;
  assert.equal(p.server.destroyed, false);
  await p.close();
});

Deno.test("stoptls: on a plaintext handle does nothing", async () => {
  const p = await handlePair();
  p.client.stoptls();
  p.client.pushWrite("still here\n");
  assert.equal(await p.server.read("line"), "still here");
  await p.close();
});
