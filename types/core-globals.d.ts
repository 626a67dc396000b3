// The globals that the platform-neutral core may use: the web-platform APIs that Node and
// browsers (pages and Workers) both provide. tsconfig.core.json type-checks src/ against these
// alone ("types": [], lib ES2022), so a reach for `process`, `Buffer`, `setImmediate` or a
// `node:` module fails the build. Declared as narrowly as the core uses them.

declare const performance: { now(): number };

declare class TextEncoder {
  encode(input?: string): Uint8Array;
}

declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}

interface CoreMessagePort {
  postMessage(message: unknown): void;
  close(): void;
}

declare class MessageChannel {
  readonly port1: CoreMessagePort;
  readonly port2: CoreMessagePort;
}

declare function setTimeout(callback: () => void, ms?: number): unknown;

declare class AbortSignal {
  readonly aborted: boolean;
}
