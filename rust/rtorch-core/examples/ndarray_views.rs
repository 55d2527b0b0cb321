//! Why the CPU kernels take rtorch's own strided views (`cpu::view`) and not ndarray's:
//! the per-call cost of a 4-element (and a 1M-element) float32 add through our views
//! and `cpu::elementwise::binary_map`, against ndarray's `ArrayViewD`s over the same
//! memory and `Zip`. Run: `cargo run --release -p rtorch-core --example ndarray_views`.
use ndarray::{ArrayViewD, ArrayViewMutD, IxDyn, ShapeBuilder, Zip};
use rtorch_core::{DType, Device, Scalar, Tensor};
use std::hint::black_box;
use std::time::Instant;

fn own(out: &Tensor, a: &Tensor, b: &Tensor) {
    rtorch_core::cpu::elementwise::binary_map::<f32, f32, f32>(
        out.cpu_view_mut().expect("a CPU float32 tensor"),
        a.cpu_view().expect("a CPU float32 tensor"),
        b.cpu_view().expect("a CPU float32 tensor"),
        |x, y| x + y,
    );
}

fn nd(out: &Tensor, a: &Tensor, b: &Tensor) {
    let view = |t: &Tensor| {
        (
            IxDyn(t.shape()).strides(IxDyn(t.strides())),
            t.cpu_view::<f32>().expect("a CPU float32 tensor").ptr(),
        )
    };
    let (sa, pa) = view(a);
    let (sb, pb) = view(b);
    let (so, po) = view(out);
    // SAFETY: the views cover the tensors' own elements, alive for the call.
    let (va, vb, mut vo) = unsafe {
        (
            ArrayViewD::from_shape_ptr(sa, pa),
            ArrayViewD::from_shape_ptr(sb, pb),
            ArrayViewMutD::from_shape_ptr(so, po as *mut f32),
        )
    };
    Zip::from(&mut vo)
        .and(&va)
        .and(&vb)
        .for_each(|o, &x, &y| *o = x + y);
}

fn time(n: usize, f: impl Fn()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..7 {
        let t0 = Instant::now();
        for _ in 0..n {
            f();
        }
        best = best.min(t0.elapsed().as_secs_f64() / n as f64);
    }
    best * 1e9
}

fn main() {
    for len in [4usize, 1 << 20] {
        let make = |v: f64| Tensor::full(&[len], Scalar::Float(v), DType::F32).expect("alloc");
        let (a, b) = (make(1.5), make(2.5));
        let out = Tensor::empty(&[len], DType::F32, Device::Cpu).expect("alloc");
        let n = if len == 4 { 2_000_000 } else { 200 };
        for round in 0..2 {
            let o = time(n, || own(black_box(&out), black_box(&a), black_box(&b)));
            let v = time(n, || nd(black_box(&out), black_box(&a), black_box(&b)));
            println!("len {len} round {round}: own {o:.1} ns, ndarray {v:.1} ns per add");
        }
    }
}
