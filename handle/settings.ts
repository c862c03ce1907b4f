/**
 * {@linkcode HandleSettings}: the callbacks, limits, timeouts, socket options and TLS
 * settings of a handle, readable and settable after construction. `Handle` extends it.
 *
 * @module
 */
import { coreOf } from "./core.ts";
import { checkSize, type HandleCallbackFor, type HandleOptionsFor } from "./options.ts";
import { checkTimeout } from "./timeouts.ts";
import type { TlsOptions } from "../tls/options.ts";

/**
 * The settable state of a {@linkcode Handle}: each accessor mirrors the constructor option of
 * the same name (see {@linkcode HandleOptionsFor}) and takes effect at once.
 *
 * @example Changing settings on a live handle
 * ```ts
 * import { Handle } from "@anyevent/handle";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const h = new Handle(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
 * h.rtimeout = 30;
 * h.noDelay = true;
 * assert.equal(h.rtimeout, 30);
 * h.destroy();
 * (await listener.accept()).close();
 * listener.close();
 * ```
 */
export class HandleSettings {
  /** The error callback; see {@linkcode HandleOptionsFor.onError}. */
  get onError(): HandleOptionsFor<this>["onError"] {
    return coreOf(this).onError;
  }
  set onError(cb: HandleOptionsFor<this>["onError"]) {
    coreOf(this).onError = cb;
  }

  /** The end-of-input callback; see {@linkcode HandleOptionsFor.onEof}. */
  get onEof(): HandleCallbackFor<this> | undefined {
    return coreOf(this).onEof;
  }
  set onEof(cb: HandleCallbackFor<this> | undefined) {
    coreOf(this).onEof = cb;
    coreOf(this).reader.startReading();
  }

  /** The default reader; setting it dispatches what is buffered at once. */
  get onRead(): HandleCallbackFor<this> | undefined {
    return coreOf(this).onRead;
  }
  set onRead(cb: HandleCallbackFor<this> | undefined) {
    coreOf(this).onRead = cb;
    coreOf(this).reader.wantData();
  }

  /** The drain callback; setting it calls it at once if the write queue is drained. */
  get onDrain(): HandleCallbackFor<this> | undefined {
    return coreOf(this).onDrain;
  }
  set onDrain(cb: HandleCallbackFor<this> | undefined) {
    coreOf(this).onDrain = cb;
    if (cb) coreOf(this).writer.callDrain();
  }

  /** `rbufMax` (see {@linkcode HandleOptionsFor.rbufMax}). */
  get rbufMax(): number {
    return coreOf(this).reader.loop.rbufMax;
  }
  set rbufMax(n: number) {
    coreOf(this).reader.loop.rbufMax = checkSize("rbufMax", n, Infinity);
  }

  /** `wbufMax` (see {@linkcode HandleOptionsFor.wbufMax}). */
  get wbufMax(): number {
    return coreOf(this).wbufMax;
  }
  set wbufMax(n: number) {
    coreOf(this).setRare("wbufMax", checkSize("wbufMax", n, Infinity));
  }

  // ---- TLS settings ----

  /** The handle's TLS settings for the next `starttls` (laid over `defaultTlsOptions`). */
  get tlsOptions(): TlsOptions | undefined {
    return coreOf(this).rare?.tlsOptions;
  }
  set tlsOptions(options: TlsOptions | undefined) {
    coreOf(this).setRare("tlsOptions", options);
  }

  /** The `onStarttls` callback; see {@linkcode HandleOptionsFor.onStarttls}. */
  get onStarttls(): HandleOptionsFor<this>["onStarttls"] {
    return coreOf(this).rare?.onStarttls;
  }
  set onStarttls(cb: HandleOptionsFor<this>["onStarttls"]) {
    coreOf(this).setRare("onStarttls", cb);
  }

  /** The `onStoptls` callback; see {@linkcode HandleOptionsFor.onStoptls}. */
  get onStoptls(): HandleCallbackFor<this> | undefined {
    return coreOf(this).rare?.onStoptls;
  }
  set onStoptls(cb: HandleCallbackFor<this> | undefined) {
    coreOf(this).setRare("onStoptls", cb);
  }

  // ---- timeouts and socket options ----

  /** The any-I/O inactivity timeout in seconds; setting it takes effect at once. */
  get timeout(): number {
    return coreOf(this).getTimeout("timeout");
  }
  set timeout(seconds: number) {
    coreOf(this).setTimeout("timeout", seconds);
  }

  /** The read inactivity timeout in seconds; setting it takes effect at once. */
  get rtimeout(): number {
    return coreOf(this).getTimeout("rtimeout");
  }
  set rtimeout(seconds: number) {
    coreOf(this).setTimeout("rtimeout", seconds);
  }

  /** The write inactivity timeout in seconds; setting it takes effect at once. */
  get wtimeout(): number {
    return coreOf(this).getTimeout("wtimeout");
  }
  set wtimeout(seconds: number) {
    coreOf(this).setTimeout("wtimeout", seconds);
  }

  /** Marks activity now for `timeout` (a keep-alive the peer cannot see). */
  timeoutReset(): void {
    coreOf(this).resetTimeout("timeout");
  }

  /** Marks activity now for `rtimeout`. */
  rtimeoutReset(): void {
    coreOf(this).resetTimeout("rtimeout");
  }

  /** Marks activity now for `wtimeout`. */
  wtimeoutReset(): void {
    coreOf(this).resetTimeout("wtimeout");
  }

  /** The timeout callbacks; see {@linkcode HandleOptionsFor.onTimeout}. */
  get onTimeout(): HandleCallbackFor<this> | undefined {
    return coreOf(this).rare?.onTimeout;
  }
  set onTimeout(cb: HandleCallbackFor<this> | undefined) {
    coreOf(this).setRare("onTimeout", cb);
  }

  /** See {@linkcode HandleOptionsFor.onRtimeout}. */
  get onRtimeout(): HandleCallbackFor<this> | undefined {
    return coreOf(this).rare?.onRtimeout;
  }
  set onRtimeout(cb: HandleCallbackFor<this> | undefined) {
    coreOf(this).setRare("onRtimeout", cb);
  }

  /** See {@linkcode HandleOptionsFor.onWtimeout}. */
  get onWtimeout(): HandleCallbackFor<this> | undefined {
    return coreOf(this).rare?.onWtimeout;
  }
  set onWtimeout(cb: HandleCallbackFor<this> | undefined) {
    coreOf(this).setRare("onWtimeout", cb);
  }

  /** `TCP_NODELAY`; setting it applies it at once (TCP only). */
  get noDelay(): boolean {
    return coreOf(this).noDelay;
  }
  set noDelay(on: boolean) {
    coreOf(this).setRare("noDelay", on);
    if (coreOf(this).open && coreOf(this).connected) coreOf(this).base.setNoDelay?.(on);
  }

  /** `SO_KEEPALIVE`; setting it applies it at once (TCP only). */
  get keepalive(): boolean {
    return coreOf(this).keepalive;
  }
  set keepalive(on: boolean) {
    coreOf(this).setRare("keepalive", on);
    if (coreOf(this).open && coreOf(this).connected) coreOf(this).base.setKeepAlive?.(on);
  }

  /** See {@linkcode HandleOptionsFor.linger}. */
  get linger(): number {
    return coreOf(this).linger;
  }
  set linger(seconds: number) {
    coreOf(this).setRare("linger", checkTimeout("linger", seconds));
  }

  /** See {@linkcode HandleOptionsFor.autocork}. */
  get autocork(): boolean {
    return coreOf(this).autocork;
  }
  set autocork(on: boolean) {
    coreOf(this).setRare("autocork", on);
  }
}
