/**
 * The benchmark's producer: connects to 127.0.0.1:<port> and writes a fixed pattern as fast as
 * it can, then closes. Run by bench/main.ts as a child process.
 *
 * Usage: producer.ts <port> <lineLength> <totalBytes>
 * With lineLength > 0 the pattern is lines of exactly that many bytes ending in "\n";
 * with 0 it is arbitrary bytes. totalBytes is rounded down to a whole pattern.
 */
const [port, lineLength, total] = Deno.args.map(Number);

function pattern(lineLength: number): Uint8Array {
  const size = 256 * 1024;
  if (lineLength === 0) return Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) & 0xff);
  const lines = Math.max(1, Math.floor(size / lineLength));
  const out = new Uint8Array(lines * lineLength);
  for (let i = 0; i < out.length; i++) {
    out[i] = i % lineLength === lineLength - 1 ? 0x0a : 0x61 + (i % 26);
  }
  return out;
}

const buf = pattern(lineLength);
const conn = await Deno.connect({ hostname: "127.0.0.1", port });
const rounds = Math.floor(total / buf.length);
for (let r = 0; r < rounds; r++) {
  for (let at = 0; at < buf.length;) at += await conn.write(at === 0 ? buf : buf.subarray(at));
}
conn.close();
