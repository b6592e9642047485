/** The interval of a sampled estimate: blocks of ids are clusters, so their spread widens the interval. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterInterval, wilson } from '../../src/services/segments.js';

test('homogeneous blocks give the Wilson interval; blocks that disagree widen it to cover the spread', () => {
  const same = Array.from({ length: 8 }, () => ({ size: 250, profiles: 2500 }));
  assert.deepEqual(clusterInterval(same), wilson(2000, 20000));
  // one block from a region of the id space that behaves differently (e.g. ids imported in bulk)
  const skewed = [...Array.from({ length: 7 }, () => ({ size: 1500, profiles: 2500 })), { size: 100, profiles: 2500 }];
  const [wl, wh] = wilson(10600, 20000);
  const [cl, ch] = clusterInterval(skewed);
  assert.ok(cl < wl && ch > wh, `cluster interval ${cl}-${ch} wider than Wilson ${wl}-${wh}`);
  // the proportion of the seven typical blocks (0.6) is inside the honest interval, not inside Wilson's
  assert.ok(cl <= 0.6 && 0.6 <= ch);
  assert.ok(!(wl <= 0.6 && 0.6 <= wh));
});
