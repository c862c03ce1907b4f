/**
 * {@linkcode SETTINGS}: the one table of a handle's settings. A row gives a setting's name (the
 * option's, and the handle property's), its check, where its value is kept and what a new
 * value changes on a live handle. The constructor's options and the handle's property setters
 * both go through it, so a setting is checked and applied in one place; a socket option is one
 * row (made by `socketOption`) plus its option and property docs.
 *
 * @module
 */
import { checkSize, type HandleCallbackFor, type HandleOptionsFor } from "./options.ts";
import { checkTimeout, type TimeoutKind } from "./timeouts.ts";
import type { HandleError } from "../base/errors.ts";
import type { Transport } from "../base/transport.ts";
import { type CodecSettings, type JsonCoder, NO_CODEC_SETTINGS } from "../base/codec.ts";
import { frameLimit } from "../codecs/limits.ts";
import type { TlsOptions } from "../tls/options.ts";
import { DEFAULT_MAX_READ_SIZE, DEFAULT_READ_SIZE } from "./read_loop.ts";

/**
 * Seconds a destroyed handle keeps sending what was queued. AnyEvent::Handle uses an hour; a
 * minute is ample for a goodbye line on a live connection, and a peer that stopped reading
 * cannot hold a server's socket for an hour.
 */
export const DEFAULT_LINGER = 60;

/** Unsent bytes above which `pushWrite` returns false: Node's default for sockets. */
export const DEFAULT_HIGH_WATER_MARK = 65536;

/**
 * What a handle keeps that most handles never set. Every handle starts with the one shared
 * object of defaults and gets an object of its own (whose prototype it is) once it sets one.
 */
export interface RareSettings<H> {
  noDelay: boolean;
  keepalive: boolean;
  autocork: boolean;
  linger: number;
  lowWaterMark: number;
  highWaterMark: number;
  wbufMax: number;
  tlsOptions: TlsOptions | undefined;
  onStarttls: HandleOptionsFor<H>["onStarttls"];
  onStoptls: HandleCallbackFor<H> | undefined;
  onTimeout: HandleCallbackFor<H> | undefined;
  onRtimeout: HandleCallbackFor<H> | undefined;
  onWtimeout: HandleCallbackFor<H> | undefined;
  /** What the codecs this handle uses are told (`maxFrameLength`, `json`). */
  codecs: CodecSettings;
  /** Addresses set in place of the socket's own (a PROXY protocol header's). */
  addresses: { remote?: Deno.Addr; local?: Deno.Addr } | undefined;
  /**
   * Set by `Handle.serve`: whether a fatal error is only the peer leaving before it sent
   * anything (a health check, a port scan), which is then reported to no one (promise
   * readers still reject with it).
   */
  quietEnd: ((err: HandleError) => boolean) | undefined;
}

/** The defaults of the rare settings: shared, and the prototype of every handle's own. */
export const RARE_DEFAULTS: Readonly<RareSettings<unknown>> = {
  noDelay: false,
  keepalive: false,
  autocork: false,
  linger: DEFAULT_LINGER,
  lowWaterMark: 0,
  highWaterMark: DEFAULT_HIGH_WATER_MARK,
  wbufMax: Infinity,
  tlsOptions: undefined,
  onStarttls: undefined,
  onStoptls: undefined,
  onTimeout: undefined,
  onRtimeout: undefined,
  onWtimeout: undefined,
  codecs: NO_CODEC_SETTINGS,
  addresses: undefined,
  quietEnd: undefined,
};

/**
 * What the rows reach in a handle: where values are kept and what they change. The handle's
 * internals (`HandleCore`) are one; the handle it passes to callbacks is `never` here, since
 * the table stores callbacks without calling them.
 */
export interface SettingsHost {
  onError: HandleOptionsFor<never>["onError"];
  onEof: HandleCallbackFor<never> | undefined;
  onRead: HandleCallbackFor<never> | undefined;
  onDrain: HandleCallbackFor<never> | undefined;
  /** The rare settings (`RARE_DEFAULTS` until one is set). */
  readonly rare: Readonly<RareSettings<never>>;
  /** Sets a rare setting. */
  setRare<K extends keyof RareSettings<never>>(key: K, value: RareSettings<never>[K]): void;
  /** The read side: its loop keeps the read sizes and `rbufMax`. */
  readonly reader: {
    readonly loop: {
      readSize: number;
      idleReadSize: number;
      maxReadSize: number;
      rbufMax: number;
    };
    startReading(): void;
    wantData(): void;
  };
  /** The write side (made on first use). */
  readonly writer: { callDrain(): void };
  /** Whether the handle is open. */
  readonly open: boolean;
  /** Whether the connection is up. */
  readonly connected: boolean;
  /** The socket under any layers. */
  readonly base: Transport;
  /** A timeout period in seconds. */
  getTimeout(kind: TimeoutKind): number;
  /** Sets a timeout period (takes effect at once). */
  setTimeout(kind: TimeoutKind, seconds: number): void;
}

/** The name of a setting: an option of the handle (all but `tls`, which is an action). */
export type SettingName = Exclude<keyof HandleOptionsFor<unknown>, "tls">;

/** One row of {@linkcode SETTINGS}. */
export interface Setting {
  /** The option's name, and the handle property's unless `optionOnly`. */
  readonly name: SettingName;
  /**
   * Checks a value given as an option or set on the handle, and returns the value to keep.
   * Throws a `RangeError` or `TypeError` that names the setting.
   */
  readonly check: (value: unknown) => unknown;
  /** Reads the value kept. */
  readonly get: (core: SettingsHost) => unknown;
  /** Keeps a checked value. */
  readonly keep: (core: SettingsHost, value: unknown) => void;
  /** What a new value changes at once on a live handle (the handle's start does it for options). */
  readonly apply?: (core: SettingsHost, value: unknown) => void;
  /** A socket option: sets it on the socket (once connected, and when it changes). */
  readonly socket?: (socket: Transport, on: boolean) => void;
  /** Only an option: the handle has no property of this name. */
  readonly optionOnly?: true;
}

const same = (value: unknown) => value;

/** A row kept in the rare settings. */
function rare(
  name: SettingName & keyof RareSettings<never>,
  check: (value: unknown) => unknown = same,
  more: Partial<Setting> = {},
): Setting {
  return {
    name,
    check,
    get: (core) => core.rare[name],
    keep: (core, value) => core.setRare(name, value as never),
    ...more,
  };
}

/** A row for a callback kept in a field of the handle's internals. */
function callback(
  name: "onError" | "onEof" | "onRead" | "onDrain",
  apply?: (core: SettingsHost, value: unknown) => void,
): Setting {
  return {
    name,
    check: same,
    get: (core) => core[name],
    keep: (core, value) => core[name] = value as never,
    apply,
  };
}

/** A row for a boolean socket option, applied to the socket once it is connected. */
function socketOption(
  name: "noDelay" | "keepalive",
  socket: (socket: Transport, on: boolean) => void,
): Setting {
  return rare(name, same, {
    socket,
    apply: (core, on) => {
      if (core.open && core.connected) socket(core.base, on as boolean);
    },
  });
}

/** A row for a timeout period: setting it takes effect at once. */
function timeout(name: TimeoutKind): Setting {
  return {
    name,
    check: (seconds) => checkTimeout(name, seconds as number),
    get: (core) => core.getTimeout(name),
    keep: (core, seconds) => core.setTimeout(name, seconds as number),
  };
}

/** A check of a byte count (see `checkSize`): `undefined` gives the default. */
function size(name: string, fallback: number, min = 0): (value: unknown) => number {
  return (value) => checkSize(name, value as number | undefined, fallback, min);
}

function checkJsonCoder(coder: unknown): JsonCoder | undefined {
  const c = coder as Partial<JsonCoder> | undefined;
  if (c !== undefined && (typeof c?.parse !== "function" || typeof c?.stringify !== "function")) {
    throw new TypeError("Cannot use the json option: expected { parse(text), stringify(value) }");
  }
  return c as JsonCoder | undefined;
}

/** A row for a codec setting, kept in the object the codecs are given. */
function codec(name: "maxFrameLength" | "json", check: (value: unknown) => unknown): Setting {
  return {
    name,
    check,
    optionOnly: true,
    get: (core) => core.rare.codecs[name],
    keep: (core, value) => {
      const { maxFrameLength, json } = core.rare.codecs;
      core.setRare("codecs", { maxFrameLength, json, [name]: value });
    },
  };
}

/** Every setting of a handle, in the order options are checked. */
export const SETTINGS: readonly Setting[] = [
  callback("onError"),
  callback("onEof", (core) => core.reader.startReading()),
  callback("onRead", (core) => core.reader.wantData()),
  callback("onDrain", (core, cb) => cb && core.writer.callDrain()),
  rare("onStarttls"),
  rare("onStoptls"),
  rare("tlsOptions"),
  rare("onTimeout"),
  rare("onRtimeout"),
  rare("onWtimeout"),
  socketOption("noDelay", (socket, on) => socket.setNoDelay?.(on)),
  socketOption("keepalive", (socket, on) => socket.setKeepAlive?.(on)),
  rare("autocork"),
  rare("linger", (seconds) => checkTimeout("linger", seconds as number)),
  rare("lowWaterMark", size("lowWaterMark", 0), { optionOnly: true }),
  rare("highWaterMark", size("highWaterMark", 0), { optionOnly: true }),
  rare("wbufMax", size("wbufMax", Infinity)),
  {
    name: "readSize",
    check: size("readSize", DEFAULT_READ_SIZE, 1),
    optionOnly: true,
    get: (core) => core.reader.loop.readSize,
    keep: (core, n) => {
      const loop = core.reader.loop;
      loop.readSize = loop.idleReadSize = n as number;
      loop.maxReadSize = Math.max(loop.readSize, loop.maxReadSize);
    },
  },
  {
    name: "maxReadSize",
    check: size("maxReadSize", DEFAULT_MAX_READ_SIZE, 1),
    optionOnly: true,
    get: (core) => core.reader.loop.maxReadSize,
    keep: (core, n) => {
      const loop = core.reader.loop;
      loop.maxReadSize = Math.max(loop.readSize, n as number); // raised to readSize if smaller
    },
  },
  {
    name: "rbufMax",
    check: size("rbufMax", Infinity),
    get: (core) => core.reader.loop.rbufMax,
    keep: (core, n) => core.reader.loop.rbufMax = n as number,
  },
  codec("maxFrameLength", (n) => frameLimit(n as number, Infinity)),
  codec("json", checkJsonCoder),
  timeout("timeout"),
  timeout("rtimeout"),
  timeout("wtimeout"),
];

/**
 * Keeps the options given to a new handle, checked by their rows (nothing is applied yet: the
 * handle's start does that).
 *
 * @param core The new handle's internals.
 * @param options The options.
 * @throws {RangeError} For a size or timeout out of range.
 * @throws {TypeError} For a `json` option that is no coder.
 */
export function keepOptions(core: SettingsHost, options: HandleOptionsFor<never>): void {
  for (const row of SETTINGS) {
    const value = options[row.name];
    if (value !== undefined) row.keep(core, row.check(value));
  }
}

/**
 * Sets the socket options that are on, once the connection exists.
 *
 * @param core The handle's internals.
 */
export function applySocketOptions(core: SettingsHost): void {
  for (const row of SOCKET_OPTIONS) if (row.get(core)) row.socket!(core.base, true);
}

const SOCKET_OPTIONS = SETTINGS.filter((row) => row.socket !== undefined);

/**
 * Installs the settings that are properties of the handle as accessors on its prototype: a
 * get reads the row's value, a set checks, keeps and applies it.
 *
 * @param prototype The handle class's prototype.
 * @param coreOf The internals of a handle.
 */
export function defineSettings<H extends object>(
  prototype: H,
  coreOf: (h: H) => SettingsHost,
): void {
  for (const row of SETTINGS) {
    if (row.optionOnly) continue;
    Object.defineProperty(prototype, row.name, {
      configurable: true,
      get(this: H) {
        return row.get(coreOf(this));
      },
      set(this: H, value: unknown) {
        const core = coreOf(this);
        const kept = row.check(value);
        row.keep(core, kept);
        row.apply?.(core, kept);
      },
    });
  }
}
