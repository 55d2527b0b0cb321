//! Kernel timings: `cargo bench -p rtorch-core [-- FILTER]`.
//!
//! Plain `std::time` loops (best of several runs), so the workspace needs no benchmark
//! framework. Each line prints the best time per call and the implied throughput.

use rtorch_core::cpu::conv::{self, ConvGeom};
use rtorch_core::cpu::window::Plane;
use rtorch_core::ops::{binary, matmul, random_ops, reduce, softmax, unary};
use rtorch_core::{DType, Result, Tensor};
use std::time::{Duration, Instant};

/// Best wall time of `f` over `runs` runs of `iters` calls each.
fn best<T>(iters: u32, runs: u32, mut f: impl FnMut() -> Result<T>) -> Duration {
    f().expect("warm-up call");
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let t0 = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(f().expect("benchmarked call"));
        }
        best = best.min(t0.elapsed() / iters);
    }
    best
}

fn report(name: &str, t: Duration, bytes: f64, flops: f64) {
    let s = t.as_secs_f64();
    let mut line = format!("{name:<36} {:>10.2} us", s * 1e6);
    if bytes > 0.0 {
        line += &format!("  {:>7.1} GB/s", bytes / s / 1e9);
    }
    if flops > 0.0 {
        line += &format!("  {:>7.1} GFLOP/s", flops / s / 1e9);
    }
    println!("{line}");
}

fn main() -> Result<()> {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    // `RTORCH_BENCH_THREADS=1 cargo bench ...` times the kernels on one thread.
    if let Some(t) = std::env::var("RTORCH_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        rtorch_core::cpu::set_num_threads(t);
    }
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let n = 16 << 20;
    let x = random_ops::randn(&[n], DType::F32, None)?;
    let y = random_ops::randn(&[n], DType::F32, None)?;
    let m = random_ops::randn(&[4096, 4096], DType::F32, None)?;
    let small = random_ops::randn(&[4], DType::F32, None)?;
    let big = (n * 4) as f64;
    let n_threads = rtorch_core::cpu::get_num_threads();

    if wanted("add_small") {
        report(
            "add 4 f32",
            best(100_000, 5, || binary::add(&small, &small)),
            0.0,
            0.0,
        );
    }
    if wanted("add") {
        report(
            "add 16M f32",
            best(10, 5, || binary::add(&x, &y)),
            3.0 * big,
            0.0,
        );
    }
    if wanted("sum") {
        let c = random_ops::randn(&[16 << 10], DType::F32, None)?;
        report(
            "sum 16K f32 (cache-resident)",
            best(10_000, 5, || reduce::sum(&c, &[], false, None)),
            (64 << 10) as f64,
            0.0,
        );
        report(
            "sum 16M f32",
            best(20, 5, || reduce::sum(&x, &[], false, None)),
            big,
            0.0,
        );
        report(
            "sum(1) 4096x4096 f32",
            best(10, 5, || reduce::sum(&m, &[1], false, None)),
            big,
            0.0,
        );
        report(
            "sum(0) 4096x4096 f32",
            best(10, 5, || reduce::sum(&m, &[0], false, None)),
            big,
            0.0,
        );
    }
    if wanted("max") {
        report(
            "max(1) 4096x4096 f32",
            best(10, 5, || Ok(reduce::max_min_dim(&m, 1, false, true)?.0)),
            big,
            0.0,
        );
    }
    if wanted("exp") {
        report(
            "exp 16M f32",
            best(10, 5, || unary::exp(&x)),
            2.0 * big,
            0.0,
        );
    }
    if wanted("transcendental") {
        // Cache-resident (256 KiB in, 256 KiB out) on one thread: the kernels' own speed,
        // not memory bandwidth or thread wake-up.
        rtorch_core::cpu::set_num_threads(1);
        let v = random_ops::randn(&[64 << 10], DType::F32, None)?;
        let b = (2 * (256 << 10)) as f64;
        type Op = fn(&Tensor) -> Result<Tensor>;
        let ops: [(&str, Op); 9] = [
            // abs: the cost of the call and the memory traffic alone.
            ("abs", unary::abs),
            ("exp", unary::exp),
            ("tanh", unary::tanh),
            ("sigmoid", unary::sigmoid),
            ("silu", |t| unary::silu(t, false)),
            ("erf", unary::erf),
            ("erfc", unary::erfc),
            ("gelu", |t| unary::gelu(t, "none")),
            ("sin", unary::sin),
        ];
        for (name, f) in ops {
            report(
                &format!("transcendental {name} 64K f32 1 thread"),
                best(200, 7, || f(&v)),
                b,
                0.0,
            );
        }
        rtorch_core::cpu::set_num_threads(n_threads);
    }
    if wanted("conv") {
        // (label, n, c, o, plane, kernel, padding): one shape per route the kernels take
        // (float32; the route is chosen by shape, see cpu/conv.rs). GFLOP/s counts the
        // direct sum's multiply-adds, so routes compare by time (Winograd does fewer).
        let shapes = [
            ("conv3x3 16x64->64 32^2 winograd", 16, 64, 64, 32, 3, 1),
            ("conv3x3 16x32->32 32^2 direct", 16, 32, 32, 32, 3, 1),
            ("conv5x5 64x1->10 28^2 direct", 64, 1, 10, 28, 5, 0),
            ("conv3x3 16x256->256 8^2 im2col", 16, 256, 256, 8, 3, 1),
            ("conv1x1 16x64->256 32^2 gemm", 16, 64, 256, 32, 1, 0),
        ];
        for (name, n, c, o, hw, k, pad) in shapes {
            let out = hw + 2 * pad - (k - 1);
            let g = ConvGeom {
                n,
                c,
                o,
                groups: 1,
                plane: Plane {
                    h: hw,
                    w: hw,
                    oh: out,
                    ow: out,
                    kernel: [k, k],
                    dilation: [1, 1],
                    padding: [pad, pad],
                    stride: [1, 1],
                },
            };
            let values = |shape: &[usize]| -> Result<Vec<f32>> {
                random_ops::randn(shape, DType::F32, None)?.to_vec::<f32>()
            };
            let x = values(&[n, c, hw, hw])?;
            let w = values(&[o, c, k, k])?;
            let gy = values(&[n, o, out, out])?;
            let (mut y, mut gx, mut gw) = (
                vec![0f32; gy.len()],
                vec![0f32; x.len()],
                vec![0f32; w.len()],
            );
            let flops = 2.0 * (n * o * c * k * k * out * out) as f64;
            let iters = (2e9 / flops).clamp(1.0, 1000.0) as u32;
            let time = |f: &mut dyn FnMut()| {
                best(iters, 5, || {
                    f();
                    Ok(())
                })
            };
            let fwd = time(&mut || conv::conv2d_forward(&g, &x, &w, None, &mut y));
            report(&format!("{name} forward"), fwd, 0.0, flops);
            let dx = time(&mut || conv::conv2d_backward_input(&g, &gy, &w, &mut gx));
            report(&format!("{name} dx"), dx, 0.0, flops);
            let dw = time(&mut || conv::conv2d_backward_weight(&g, &gy, &x, &mut gw));
            report(&format!("{name} dw"), dw, 0.0, flops);
        }
    }
    if wanted("softmax") {
        report(
            "softmax(-1) 4096x4096 f32",
            best(5, 5, || softmax::softmax(&m, -1, None)),
            2.0 * big,
            0.0,
        );
    }
    {
        // (label, batch, m, k, n, dtype): square, tall-skinny, batched small, bf16.
        // `-- matmul` runs them all, `-- bf16` (any part of a label) the matching ones.
        let shapes: [(&str, usize, usize, usize, usize, DType); 9] = [
            ("matmul 128^3 f32", 1, 128, 128, 128, DType::F32),
            ("matmul 256^3 f32", 1, 256, 256, 256, DType::F32),
            ("matmul 1024^3 f32", 1, 1024, 1024, 1024, DType::F32),
            ("matmul 4096x64 @ 64x64 f32", 1, 4096, 64, 64, DType::F32),
            ("matmul 64x4096 @ 4096x64 f32", 1, 64, 4096, 64, DType::F32),
            ("bmm 64x(128^3) f32", 64, 128, 128, 128, DType::F32),
            ("bmm 256x(32^3) f32", 256, 32, 32, 32, DType::F32),
            ("matmul 1024^3 bf16", 1, 1024, 1024, 1024, DType::BF16),
            ("bmm 64x(128^3) bf16", 64, 128, 128, 128, DType::BF16),
        ];
        for (name, batch, m, k, n, dtype) in shapes {
            if !wanted("matmul") && !wanted(name) {
                continue;
            }
            let (sa, sb): (Vec<usize>, Vec<usize>) = if batch > 1 {
                (vec![batch, m, k], vec![batch, k, n])
            } else {
                (vec![m, k], vec![k, n])
            };
            let a = random_ops::randn(&sa, dtype, None)?;
            let b = random_ops::randn(&sb, dtype, None)?;
            let flops = 2.0 * (batch * m * k * n) as f64;
            let iters = (1e10 / flops).clamp(1.0, 1000.0) as u32;
            report(name, best(iters, 5, || matmul::matmul(&a, &b)), 0.0, flops);
        }
    }
    if wanted("peak") {
        // The float32 multiply-add peak the matrix products are measured against (issue
        // 12 asks 85% of it at 1024^3): one busy loop per pool thread, all at once.
        let flops = peak::FMAS_PER_CALL as f64 * 2.0 * peak::lanes() as f64 * n_threads as f64;
        let t = best(1, 5, || {
            std::thread::scope(|s| {
                for _ in 0..n_threads {
                    s.spawn(|| std::hint::black_box(peak::fma_loop()));
                }
            });
            Ok(())
        });
        let label = format!(
            "f32 FMA peak ({n_threads} threads, {} lanes)",
            peak::lanes()
        );
        report(&label, t, 0.0, flops);
        // The bfloat16 products' ceiling: `vdpbf16ps` (two multiply-adds a lane) where
        // the CPU has AVX512-BF16.
        if let Some(lanes) = peak::bf16_pairs() {
            let flops = peak::FMAS_PER_CALL as f64 * 4.0 * lanes as f64 * n_threads as f64;
            let t = best(1, 5, || {
                std::thread::scope(|s| {
                    for _ in 0..n_threads {
                        s.spawn(|| std::hint::black_box(peak::bf16_dot_loop()));
                    }
                });
                Ok(())
            });
            report(
                &format!("bf16 dot peak ({n_threads} threads)"),
                t,
                0.0,
                flops,
            );
        }
    }
    Ok(())
}

/// Independent chains of vector multiply-adds, enough of them to cover the latency
/// (12 chains: 4-cycle latency times 2 units, plus slack), on the widest level the CPU
/// has.
mod peak {
    pub const FMAS_PER_CALL: usize = 12 * 20_000_000;

    /// Float32 lanes per multiply-add of `fma_loop`.
    pub fn lanes() -> usize {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                return 16;
            }
            if is_x86_feature_detected!("fma") {
                return 8;
            }
        }
        1
    }

    /// Float32 lanes of one `vdpbf16ps` (each adds two products), where the CPU has
    /// AVX512-BF16.
    pub fn bf16_pairs() -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bf16") {
            return Some(16);
        }
        None
    }

    /// Runs `FMAS_PER_CALL` `vdpbf16ps` (call only where [`bf16_pairs`] is some).
    pub fn bf16_dot_loop() -> f32 {
        #[cfg(target_arch = "x86_64")]
        if bf16_pairs().is_some() {
            // SAFETY: AVX-512 F and BF16 were detected on this CPU.
            return unsafe { x86::bf16_dot() };
        }
        0.0
    }

    /// Runs `FMAS_PER_CALL` vector multiply-adds; returns a value depending on all of
    /// them.
    pub fn fma_loop() -> f32 {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                // SAFETY: AVX-512 F was detected on this CPU.
                return unsafe { x86::zmm() };
            }
            if is_x86_feature_detected!("fma") {
                // SAFETY: AVX and FMA were detected on this CPU.
                return unsafe { x86::ymm() };
            }
        }
        let mut acc = [1.0f32; 12];
        for _ in 0..FMAS_PER_CALL / 12 {
            for a in acc.iter_mut() {
                *a = std::hint::black_box(*a).mul_add(0.999_999, 1e-7);
            }
        }
        acc.iter().sum()
    }

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use super::FMAS_PER_CALL;
        use std::arch::x86_64::*;

        #[target_feature(enable = "avx512f")]
        pub unsafe fn zmm() -> f32 {
            // The multiplier comes through black_box so the loop cannot be folded.
            let (x, y) = (
                _mm512_set1_ps(std::hint::black_box(0.999_999)),
                _mm512_set1_ps(1e-7),
            );
            let mut acc = [_mm512_set1_ps(1.0); 12];
            for _ in 0..FMAS_PER_CALL / 12 {
                for a in acc.iter_mut() {
                    *a = _mm512_fmadd_ps(*a, x, y);
                }
            }
            acc.iter().map(|&a| _mm512_reduce_add_ps(a)).sum()
        }

        #[target_feature(enable = "avx512f,avx512bf16")]
        pub unsafe fn bf16_dot() -> f32 {
            // Pairs of 1.0 and of ~1e-7: the sums grow slowly; the operand comes through
            // black_box so the loop cannot be folded.
            let one: __m512bh = std::mem::transmute(_mm512_set1_epi16(0x3f80));
            let small: __m512bh =
                std::mem::transmute(_mm512_set1_epi16(std::hint::black_box(0x33d6)));
            let mut acc = [_mm512_setzero_ps(); 12];
            for _ in 0..FMAS_PER_CALL / 12 {
                for a in acc.iter_mut() {
                    *a = _mm512_dpbf16_ps(*a, one, small);
                }
            }
            acc.iter().map(|&a| _mm512_reduce_add_ps(a)).sum()
        }

        #[target_feature(enable = "avx,fma")]
        pub unsafe fn ymm() -> f32 {
            let (x, y) = (
                _mm256_set1_ps(std::hint::black_box(0.999_999)),
                _mm256_set1_ps(1e-7),
            );
            let mut acc = [_mm256_set1_ps(1.0); 12];
            for _ in 0..FMAS_PER_CALL / 12 {
                for a in acc.iter_mut() {
                    *a = _mm256_fmadd_ps(*a, x, y);
                }
            }
            let mut lanes = [0.0f32; 8];
            for a in acc {
                let mut v = [0.0f32; 8];
                // SAFETY: `v` holds 8 floats.
                unsafe { _mm256_storeu_ps(v.as_mut_ptr(), a) };
                for (l, x) in lanes.iter_mut().zip(v) {
                    *l += x;
                }
            }
            lanes.iter().sum()
        }
    }
}
