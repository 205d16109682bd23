// A QR code on a canvas, for a link code a phone's camera can read: dark modules on white,
// with the four-module quiet zone readers expect. The code is drawn, never put in a URL the
// page loads, so it reaches no server.
import qrcode from 'qrcode-generator';

const CELL = 4;  // pixels per module
const QUIET = 4;  // modules of margin

export function qrCanvas(text: string, label: string): HTMLCanvasElement {
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const modules = qr.getModuleCount();
  const size = (modules + 2 * QUIET) * CELL;
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  canvas.className = 'qr';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  const context = canvas.getContext('2d')!;
  context.fillStyle = '#fff';
  context.fillRect(0, 0, size, size);
  context.fillStyle = '#000';
  for (let row = 0; row < modules; row++) {
    for (let col = 0; col < modules; col++) {
      if (qr.isDark(row, col)) context.fillRect((col + QUIET) * CELL, (row + QUIET) * CELL, CELL, CELL);
    }
  }
  return canvas;
}
