/**
 * The client side of the idle benchmark (bench/idle.ts): opens `count` connections to
 * 127.0.0.1:<port>, 100 at a time, prints "connected" and holds them, sending nothing, until
 * it is killed (or after 120 s).
 *
 * Usage: idle_clients.ts <port> <count>
 *
 * @module
 */
const [port, count] = Deno.args.map(Number);
if (!(port > 0) || !(count > 0)) throw new TypeError(`usage: idle_clients.ts <port> <count>`);
setTimeout(() => Deno.exit(1), 120_000);
const conns: Deno.TcpConn[] = [];
while (conns.length < count) {
  const batch = Math.min(100, count - conns.length);
  conns.push(
    ...await Promise.all(
      Array.from({ length: batch }, () => Deno.connect({ hostname: "127.0.0.1", port })),
    ),
  );
}
console.log("connected");
