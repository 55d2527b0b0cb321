//! Float64 reference loops for the convolution kernels' unit tests (written out
//! directly, not through any route under test), and deterministic test values.

use super::conv::ConvGeom;
use super::window::Plane;

/// A unit-stride, one-group geometry: `n` samples, `c -> o` channels, planes `hw`.
pub fn geom(
    n: usize,
    c: usize,
    o: usize,
    hw: [usize; 2],
    k: [usize; 2],
    pad: [usize; 2],
    dil: [usize; 2],
) -> ConvGeom {
    let oh = hw[0] + 2 * pad[0] - dil[0] * (k[0] - 1);
    let ow = hw[1] + 2 * pad[1] - dil[1] * (k[1] - 1);
    ConvGeom {
        n,
        c,
        o,
        groups: 1,
        plane: Plane {
            h: hw[0],
            w: hw[1],
            oh,
            ow,
            kernel: k,
            dilation: dil,
            padding: pad,
            stride: [1, 1],
        },
    }
}

/// Deterministic values in [-1, 1).
pub fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// `x[s, ci, y + i*dh - ph, x + j*dw - pw]` for output `(y, x)` and tap `(i, j)`, zero
/// outside.
fn at(g: &ConvGeom, x: &[f32], s: usize, ci: usize, out: [usize; 2], tap: [usize; 2]) -> f64 {
    let p = &g.plane;
    let yy = (out[0] + tap[0] * p.dilation[0]) as isize - p.padding[0] as isize;
    let xq = (out[1] + tap[1] * p.dilation[1]) as isize - p.padding[1] as isize;
    if yy < 0 || xq < 0 || yy >= p.h as isize || xq >= p.w as isize {
        return 0.0;
    }
    x[((s * g.c + ci) * p.h + yy as usize) * p.w + xq as usize] as f64
}

/// The forward `y`, input gradient and weight gradient of `g` in float64, for input
/// `x`, weights `w` (`(o, c, kh, kw)`) and output gradient `gy`.
pub fn reference(g: &ConvGeom, x: &[f32], w: &[f32], gy: &[f32]) -> [Vec<f64>; 3] {
    let p = g.plane;
    let (n, c, o, k) = (g.n, g.c, g.o, p.kernel);
    let mut want = vec![0f64; n * o * p.oh * p.ow];
    let mut want_gw = vec![0f64; o * c * k[0] * k[1]];
    let mut want_gx = vec![0f64; n * c * p.h * p.w];
    for s in 0..n {
        for co in 0..o {
            for y in 0..p.oh {
                for xx in 0..p.ow {
                    let oi = ((s * o + co) * p.oh + y) * p.ow + xx;
                    for ci in 0..c {
                        for i in 0..k[0] {
                            for j in 0..k[1] {
                                let wi = ((co * c + ci) * k[0] + i) * k[1] + j;
                                let xv = at(g, x, s, ci, [y, xx], [i, j]);
                                want[oi] += w[wi] as f64 * xv;
                                want_gw[wi] += gy[oi] as f64 * xv;
                                let yy = (y + i * p.dilation[0]) as isize - p.padding[0] as isize;
                                let xq = (xx + j * p.dilation[1]) as isize - p.padding[1] as isize;
                                if yy >= 0 && xq >= 0 && (yy as usize) < p.h && (xq as usize) < p.w
                                {
                                    let xi = ((s * c + ci) * p.h + yy as usize) * p.w + xq as usize;
                                    want_gx[xi] += gy[oi] as f64 * w[wi] as f64;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    [want, want_gx, want_gw]
}

/// `got` within 1e-5 of the largest magnitude in `want`, element by element.
pub fn check(got: &[f32], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (&a, &b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a as f64 - b).abs() <= 1e-5 * scale,
            "{what}[{i}]: {a} vs {b}"
        );
    }
}
