/**
 * A small synthetic camera for Chromium's `--use-file-for-fake-video-capture`.
 *
 * Chromium's default fake camera is 640x480 at 30 fps (or whatever the page asks for); several of those in
 * one 2-core machine starve the encoders. This writes a 320x240, 15 fps Y4M (about 3.5 MB, made in a few
 * milliseconds) with visible motion: a sliding gradient and a bouncing bright square, so decoders have real
 * frames to count and a paused video would be obvious in a screenshot.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FAKE_VIDEO = { width: 320, height: 240, fps: 15, frames: 30 } as const;

export interface FakeVideoSpec {
  width: number;
  height: number;
  fps: number;
  frames: number;
}

/**
 * Writes the file once (atomically) and returns its absolute path. Safe to call from every worker.
 * `spec` picks another size (e.g. 640x360 where a test needs more bit rate than a cap carries).
 */
export function ensureFakeVideo(dir: string, spec: FakeVideoSpec = FAKE_VIDEO): string {
  const { width, height, fps, frames } = spec;
  const file = path.resolve(dir, `fake-${width}x${height}-${fps}fps.y4m`);
  const ySize = width * height;
  const cSize = (width / 2) * (height / 2);
  const header = `YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`;
  const expected = header.length + frames * (6 + ySize + 2 * cSize);
  if (fs.existsSync(file) && fs.statSync(file).size === expected) return file;

  fs.mkdirSync(path.dirname(file), { recursive: true });
  const frameHeader = Buffer.from('FRAME\n');
  const chunks: Buffer[] = [Buffer.from(header)];
  const square = 48;
  for (let f = 0; f < frames; f++) {
    const y = Buffer.alloc(ySize);
    const shift = Math.round((f * width) / frames);
    for (let row = 0; row < height; row++) {
      for (let col = 0; col < width; col++) {
        y[row * width + col] = 40 + (((col + shift) % width) * 140) / width + (row % 16 < 2 ? 20 : 0);
      }
    }
    // A square bouncing along a diagonal.
    const t = f / frames;
    const sx = Math.round((width - square) * (t < 0.5 ? 2 * t : 2 - 2 * t));
    const sy = Math.round((height - square) * t);
    for (let row = sy; row < sy + square; row++) y.fill(235, row * width + sx, row * width + sx + square);
    const u = Buffer.alloc(cSize, 128 + Math.round(40 * Math.sin((2 * Math.PI * f) / frames)));
    const v = Buffer.alloc(cSize, 128 + Math.round(40 * Math.cos((2 * Math.PI * f) / frames)));
    chunks.push(frameHeader, y, u, v);
  }
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat(chunks));
  fs.renameSync(tmp, file);
  return file;
}
