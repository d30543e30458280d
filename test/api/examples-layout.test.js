'use strict';
// The example flows as the editor draws them: no node may sit on another. Node-RED draws a
// node centred on (x, y), 30 px high and as wide as its label (about 8 px a character at the
// editor's 14 px font) plus the icon and ports; the estimate here errs on the wide side.
const assert = require('node:assert');
const path = require('node:path');

const EXAMPLES = ['modbus-room-climate.json', 'm307-cold-room.json', 'mate-solar.json'];

function label(n) {
  return n.name || n.label || n.type.replace(/^fieldlink-/, '');
}

function box(n) {
  const w = Math.max(100, label(n).length * 8 + 60);
  return { left: n.x - w / 2, right: n.x + w / 2, top: n.y - 15, bottom: n.y + 15 };
}

describe('example flows: nodes do not overlap in the editor', function () {
  for (const file of EXAMPLES) {
    it(file, function () {
      const flow = require(path.join(__dirname, '..', '..', 'examples', file));
      const drawn = flow.filter((n) => n.z && typeof n.x === 'number' && typeof n.y === 'number');
      const clashes = [];
      for (let i = 0; i < drawn.length; i++) {
        for (let j = i + 1; j < drawn.length; j++) {
          const a = drawn[i];
          const b = drawn[j];
          if (a.z !== b.z) continue;
          const A = box(a);
          const B = box(b);
          const gap = 10;
          if (A.left < B.right + gap && B.left < A.right + gap && A.top < B.bottom + gap && B.top < A.bottom + gap) {
            clashes.push(`"${label(a)}" (${a.x},${a.y}) and "${label(b)}" (${b.x},${b.y})`);
          }
        }
      }
      assert.deepStrictEqual(clashes, []);
    });
  }
});
