// MLLP framing (HL7 v2 Minimal Lower Layer Protocol): a message travels as VT <bytes> FS CR.
// TCP gives no message boundaries, so the decoder is fed whatever each read returns and yields the
// complete frames: a frame split over many reads, several frames in one read, and bytes outside a
// frame (junk, keep-alive newlines) are all normal. A VT inside an open frame means the sender gave up
// on the frame and started over: the partial one is dropped. A frame above `maxFrameBytes` is an
// error (the connection is closed), so a sender cannot make us buffer without bound.
//
// Why our own decoder and not @medplum/hl7's Hl7Connection: we must store the exact bytes received
// and answer AR to a frame that does not parse, and Hl7Connection parses inside its framing loop
// (a parse error drops the rest of the read, other frames included) and hands out only the parsed form.
export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;

export class FrameTooLargeError extends Error {}

export class MllpDecoder {
  readonly #maxFrameBytes: number;
  /** Bytes of the open frame (after its VT); undefined when between frames. */
  #chunks: Buffer[] | undefined;
  #size = 0;
  /** The open frame's last byte was FS: a CR in the next read closes it. */
  #pendingFs = false;

  constructor(maxFrameBytes = 16 * 1024 * 1024) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Feeds one read; returns the frames it completed, without VT/FS/CR. */
  push(data: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let index = 0;
    while (index < data.length) {
      if (!this.#chunks) {
        const start = data.indexOf(VT, index);
        if (start < 0) return frames; // junk between frames
        this.#open();
        index = start + 1;
        continue;
      }
      if (this.#pendingFs) {
        this.#pendingFs = false;
        if (data[index] === CR) {
          frames.push(this.#close());
          index += 1;
          continue;
        }
        this.#append(Buffer.from([FS])); // an FS inside the message, not its end
      }
      const end = this.#findEnd(data, index);
      const restart = data.indexOf(VT, index);
      if (restart >= 0 && (end.at < 0 || restart < end.at)) {
        // The sender restarted a frame: what we had of the old one is junk.
        this.#open();
        index = restart + 1;
        continue;
      }
      if (end.at < 0) {
        this.#append(data.subarray(index));
        return frames;
      }
      this.#append(data.subarray(index, end.at));
      if (end.split) {
        this.#pendingFs = true;
        return frames;
      }
      frames.push(this.#close());
      index = end.at + 2;
    }
    return frames;
  }

  /** Whether part of a frame is waiting for more bytes. */
  get inFrame(): boolean {
    return this.#chunks !== undefined;
  }

  /** FS CR from `from`: its index, or -1; split = FS is the read's last byte (the CR may follow). */
  #findEnd(data: Buffer, from: number): { at: number; split: boolean } {
    let at = data.indexOf(FS, from);
    while (at >= 0) {
      if (at === data.length - 1) return { at, split: true };
      if (data[at + 1] === CR) return { at, split: false };
      at = data.indexOf(FS, at + 1);
    }
    return { at: -1, split: false };
  }

  #open(): void {
    this.#chunks = [];
    this.#size = 0;
    this.#pendingFs = false;
  }

  #append(bytes: Buffer): void {
    if (!bytes.length) return;
    this.#size += bytes.length;
    if (this.#size > this.#maxFrameBytes) {
      this.#chunks = undefined;
      throw new FrameTooLargeError(`MLLP frame larger than ${this.#maxFrameBytes} bytes`);
    }
    // Copy: the socket may reuse its read buffer.
    this.#chunks!.push(Buffer.from(bytes));
  }

  #close(): Buffer {
    const frame = Buffer.concat(this.#chunks ?? []);
    this.#chunks = undefined;
    this.#size = 0;
    return frame;
  }
}

/** Wraps a message in an MLLP frame. */
export function mllpFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from([VT]), body, Buffer.from([FS, CR])]);
}
