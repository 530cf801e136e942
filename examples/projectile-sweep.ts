// The handlers of examples/threads.ts, loaded by every thread of its pool:
// a projectile with air drag, integrated step by step (classic Runge–Kutta),
// for a range of launch angles. Pure computation, no I/O: the kind of work
// a thread pool is for.

/** Launch speed (m/s), drag coefficient over mass (1/m), gravity (m/s²), step (s). */
const V0 = 120;
const K = 0.0021;
const G = 9.81;
const DT = 0.01;

/** How far a projectile launched at `angleDeg` flies before it lands, in metres. */
export function rangeAt(angleDeg: number): number {
  const a = (angleDeg * Math.PI) / 180;
  let x = 0;
  let y = 0;
  let vx = V0 * Math.cos(a);
  let vy = V0 * Math.sin(a);
  const ax = (ux: number, uy: number) => -K * ux * Math.hypot(ux, uy);
  const ay = (ux: number, uy: number) => -G - K * uy * Math.hypot(ux, uy);
  while (y >= 0) {
    const k1vx = ax(vx, vy), k1vy = ay(vx, vy);
    const k2vx = ax(vx + (DT / 2) * k1vx, vy + (DT / 2) * k1vy), k2vy = ay(vx + (DT / 2) * k1vx, vy + (DT / 2) * k1vy);
    const k3vx = ax(vx + (DT / 2) * k2vx, vy + (DT / 2) * k2vy), k3vy = ay(vx + (DT / 2) * k2vx, vy + (DT / 2) * k2vy);
    const k4vx = ax(vx + DT * k3vx, vy + DT * k3vy), k4vy = ay(vx + DT * k3vx, vy + DT * k3vy);
    x += DT * vx;
    y += DT * vy;
    vx += (DT / 6) * (k1vx + 2 * k2vx + 2 * k3vx + k4vx);
    vy += (DT / 6) * (k1vy + 2 * k2vy + 2 * k3vy + k4vy);
  }
  return x;
}

/** The farthest-flying angle among `count` angles from `from` in steps of `step` degrees. */
export function sweep({ from, step, count }: { from: number; step: number; count: number }): { angle: number; range: number } {
  let best = { angle: from, range: -1 };
  for (let i = 0; i < count; i++) {
    const angle = from + i * step;
    const range = rangeAt(angle);
    if (range > best.range) best = { angle, range };
  }
  return best;
}
