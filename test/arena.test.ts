// The parameter arena (src/nn/arena.ts): one flat buffer, named views in spec order, and clear
// errors for a duplicate name or a name that is not there.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Layout } from '../src/nn/arena.js';

test('Layout: offsets in spec order, views of the right block, has(); duplicates and unknown names refused', () => {
  const L = new Layout([{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [4] }, { name: 'c', shape: [] }]);
  assert.equal(L.size, 6 + 4 + 1);
  assert.deepEqual(L.offsets.get('b'), { offset: 6, size: 4, shape: [4] });
  const buf = Float32Array.from({ length: L.size }, (_, i) => i);
  assert.deepEqual([...L.view(buf, 'a')], [0, 1, 2, 3, 4, 5]);
  assert.deepEqual([...L.view(buf, 'b')], [6, 7, 8, 9]);
  assert.deepEqual([...L.view(buf, 'c')], [10]);
  L.view(buf, 'b')[0] = -1;
  assert.equal(buf[6], -1, 'a view, not a copy');
  assert.equal(L.has('b'), true);
  assert.equal(L.has('z'), false);
  assert.throws(() => L.view(buf, 'z'), /no parameter named z/);
  assert.throws(() => new Layout([{ name: 'a', shape: [1] }, { name: 'a', shape: [2] }]), /duplicate parameter a/);
});
