//! Embedding kernels: row lookup (forward) and the deterministic row accumulation of the
//! weight gradient (backward). Indices are already checked to lie in `0..num`.

/// Elements of output one task of [`lookup`] copies (a task per row made the claim and
/// the call cost more than a 128-byte copy).
const LOOKUP_TASK: usize = 16 * 1024;

/// `out[r] = w[idx[r]]` for rows of width `d` (parallel over blocks of output rows above
/// the grain size; every output row is written once, so the result is
/// thread-independent).
pub fn lookup<T: Copy + Send + Sync>(w: &[T], d: usize, idx: &[usize], out: &mut [T]) {
    if d == 0 {
        return;
    }
    let rows = (LOOKUP_TASK / d).max(1);
    let block = |b: usize, o: &mut [T]| copy_rows(w, d, &idx[b * rows..], o);
    if idx.len() > rows && out.len() >= super::GRAIN && super::get_num_threads() > 1 {
        super::par_chunks_mut(out, rows * d, &block);
    } else {
        block(0, out);
    }
}

/// `out`'s rows (of `d` elements) from rows `idx` of `w`. Rows of 2 to 64 elements copy
/// as fixed-size arrays (inline vector moves; `memcpy` per row cost twice the copy).
fn copy_rows<T: Copy>(w: &[T], d: usize, idx: &[usize], out: &mut [T]) {
    match d {
        2 => copy_fixed::<T, 2>(w, idx, out),
        4 => copy_fixed::<T, 4>(w, idx, out),
        8 => copy_fixed::<T, 8>(w, idx, out),
        16 => copy_fixed::<T, 16>(w, idx, out),
        32 => copy_fixed::<T, 32>(w, idx, out),
        64 => copy_fixed::<T, 64>(w, idx, out),
        _ => {
            for (o, &i) in out.chunks_exact_mut(d).zip(idx) {
                o.copy_from_slice(&w[i * d..(i + 1) * d]);
            }
        }
    }
}

#[inline(always)]
fn copy_fixed<T: Copy, const N: usize>(w: &[T], idx: &[usize], out: &mut [T]) {
    for (o, &i) in out.chunks_exact_mut(N).zip(idx) {
        o.copy_from_slice(&w[i * N..(i + 1) * N]);
    }
}

/// Weight gradient: `gw` (`num*d`, zeroed here) gets `g[r]` added at row `idx[r]` for
/// every `r` whose index is not `skip`. Rows are added in order of `r`; parallel runs
/// split the columns, so each element sees the same additions in the same order.
pub fn accumulate_rows<T>(g: &[T], idx: &[usize], d: usize, skip: Option<usize>, gw: &mut [T])
where
    T: Copy + Send + Sync + Default + std::ops::Add<Output = T>,
{
    gw.fill(T::default());
    if d == 0 {
        return;
    }
    // Column blocks of 16 elements: one cache line of f32 per row and block.
    const COLS: usize = 16;
    let blocks = d.div_ceil(COLS);
    let run = |b: usize, out: super::SendPtr<T>| {
        let c0 = b * COLS;
        let c1 = (c0 + COLS).min(d);
        for (r, &i) in idx.iter().enumerate() {
            if Some(i) == skip {
                continue;
            }
            for k in c0..c1 {
                // SAFETY: `i < num` (checked by the caller) and `k < d`, so `i*d + k` is
                // inside gw (num*d elements); block `b` alone writes columns c0..c1.
                unsafe {
                    let p = out.get().add(i * d + k);
                    *p = *p + g[r * d + k];
                }
            }
        }
    };
    let ptr = super::SendPtr(gw.as_mut_ptr());
    if blocks > 1 && g.len() >= super::GRAIN && super::get_num_threads() > 1 {
        super::par_for(blocks, &|b| run(b, ptr));
    } else {
        for b in 0..blocks {
            run(b, ptr);
        }
    }
}

/// The float element types of the embedding-bag kernels.
pub trait BagFloat: Copy + Send + Sync + Default + 'static {
    fn f(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

impl BagFloat for f32 {
    #[inline(always)]
    fn f(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl BagFloat for f64 {
    #[inline(always)]
    fn f(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// Reduction modes of an embedding bag (PyTorch's numbering).
pub const BAG_SUM: u8 = 0;
pub const BAG_MEAN: u8 = 1;
pub const BAG_MAX: u8 = 2;

/// "No entry" in the max mode's argmax table.
pub const NO_ARGMAX: usize = usize::MAX;

/// One embedding-bag problem, already checked: `idx[i] < num` for every entry, `bounds`
/// non-decreasing, `bounds[0] = 0` and the last bound at most `idx.len()`; bag `b` holds
/// entries `bounds[b]..bounds[b + 1]`. Entries equal to `pad` are left out (and out of
/// the mean's count).
pub struct Bags<'a, T> {
    pub w: &'a [T],
    pub d: usize,
    pub idx: &'a [usize],
    pub bounds: &'a [usize],
    pub psw: Option<&'a [T]>,
    pub pad: Option<usize>,
    pub mode: u8,
}

impl<T: BagFloat> Bags<'_, T> {
    fn bags(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }

    fn entries(&self, b: usize) -> std::ops::Range<usize> {
        let lo = self.bounds.get(b).copied().unwrap_or(0);
        let hi = self
            .bounds
            .get(b + 1)
            .copied()
            .unwrap_or(lo)
            .min(self.idx.len());
        lo.min(hi)..hi
    }

    fn row(&self, i: usize) -> &[T] {
        let r = self.idx[i];
        &self.w[r * self.d..(r + 1) * self.d]
    }

    /// The count of non-padding entries of bag `b`.
    pub fn count(&self, b: usize) -> usize {
        self.entries(b)
            .filter(|&i| Some(self.idx[i]) != self.pad)
            .count()
    }

    /// One bag: writes `out` (length d) and, in max mode, `arg` (the weight row of each
    /// column's maximum, or `NO_ARGMAX`). Sums accumulate in f64 in entry order.
    fn one(&self, b: usize, out: &mut [T], arg: &mut [usize], acc: &mut [f64]) {
        if self.mode == BAG_MAX {
            arg.fill(NO_ARGMAX);
            out.fill(T::default());
            for i in self.entries(b) {
                let r = self.idx[i];
                if Some(r) == self.pad {
                    continue;
                }
                let row = self.row(i);
                for ((o, a), &v) in out.iter_mut().zip(arg.iter_mut()).zip(row) {
                    // The first entry sets the maximum; later ones replace it only when
                    // strictly greater (ties keep the first, as PyTorch's CPU kernel).
                    if *a == NO_ARGMAX || v.f() > o.f() {
                        *o = v;
                        *a = r;
                    }
                }
            }
            return;
        }
        acc.fill(0.0);
        let mut count = 0usize;
        for i in self.entries(b) {
            if Some(self.idx[i]) == self.pad {
                continue;
            }
            count += 1;
            let row = self.row(i);
            match self.psw {
                Some(p) => {
                    let s = p[i].f();
                    for (a, &v) in acc.iter_mut().zip(row) {
                        *a += s * v.f();
                    }
                }
                None => {
                    for (a, &v) in acc.iter_mut().zip(row) {
                        *a += v.f();
                    }
                }
            }
        }
        if self.mode == BAG_MEAN && count > 0 {
            let c = count as f64;
            for (o, &a) in out.iter_mut().zip(acc.iter()) {
                *o = T::from_f64(a / c);
            }
        } else {
            for (o, &a) in out.iter_mut().zip(acc.iter()) {
                *o = T::from_f64(a);
            }
        }
    }

    /// The forward: `out` is `bags * d`; in max mode `arg` is too (else empty).
    /// Parallel over bags above the grain; each bag is computed by one thread.
    pub fn forward(&self, out: &mut [T], arg: &mut [usize]) {
        let d = self.d;
        let nb = self.bags();
        if d == 0 || out.len() != nb * d {
            return;
        }
        let max = self.mode == BAG_MAX;
        if max && arg.len() != out.len() {
            return;
        }
        let work = self.idx.len().saturating_mul(d).max(out.len());
        let run = |b: usize, o: &mut [T], a: &mut [usize]| {
            let mut acc = vec![0.0f64; if max { 0 } else { d }];
            self.one(b, o, a, &mut acc);
        };
        if nb > 1 && work >= super::GRAIN && super::get_num_threads() > 1 {
            if max {
                super::par_chunks_mut2(out, arg, d, &run);
            } else {
                super::par_chunks_mut(out, d, &|b, o| run(b, o, &mut []));
            }
        } else if max {
            for (b, (o, a)) in out.chunks_mut(d).zip(arg.chunks_mut(d)).enumerate() {
                run(b, o, a);
            }
        } else {
            for (b, o) in out.chunks_mut(d).enumerate() {
                run(b, o, &mut []);
            }
        }
    }

    /// The weight gradient (`gw`, `num * d`, zeroed here) from the output gradient `g`
    /// (`bags * d`): sum/mean add each entry's scaled bag gradient at its row, in entry
    /// order; max adds each bag's gradient at its argmax rows, in bag order. Parallel
    /// runs split the columns, so every element sees the same additions in the same
    /// order for any thread count.
    pub fn backward_weight(&self, g: &[T], arg: &[usize], gw: &mut [T]) {
        gw.fill(T::default());
        let d = self.d;
        let nb = self.bags();
        if d == 0 || g.len() != nb * d || !gw.len().is_multiple_of(d) {
            return;
        }
        let num = gw.len() / d;
        let max = self.mode == BAG_MAX;
        if max && arg.len() != g.len() {
            return;
        }
        // Per-entry scale: per-sample weight, 1 / count (mean) or 1.
        let counts: Vec<usize> = if self.mode == BAG_MEAN {
            (0..nb).map(|b| self.count(b)).collect()
        } else {
            Vec::new()
        };
        const COLS: usize = 16;
        let blocks = d.div_ceil(COLS);
        let run = |blk: usize, out: super::SendPtr<T>| {
            let c0 = blk * COLS;
            let c1 = (c0 + COLS).min(d);
            for b in 0..nb {
                let gb = &g[b * d..(b + 1) * d];
                if max {
                    for k in c0..c1 {
                        let r = arg[b * d + k];
                        if r < num {
                            // SAFETY: `r < num` and `k < d`, so `r*d + k` is inside gw
                            // (num*d elements); block `blk` alone writes columns c0..c1.
                            unsafe {
                                let p = out.get().add(r * d + k);
                                *p = T::from_f64((*p).f() + gb[k].f());
                            }
                        }
                    }
                    continue;
                }
                let inv = if self.mode == BAG_MEAN {
                    let c = counts.get(b).copied().unwrap_or(0);
                    if c == 0 {
                        continue;
                    }
                    1.0 / c as f64
                } else {
                    1.0
                };
                for i in self.entries(b) {
                    let r = self.idx[i];
                    if Some(r) == self.pad || r >= num {
                        continue;
                    }
                    let s = match self.psw {
                        Some(p) => p[i].f(),
                        None => inv,
                    };
                    for (k, &gv) in gb.iter().enumerate().take(c1).skip(c0) {
                        // SAFETY: as above (`r < num`, `k < d`, columns owned by `blk`).
                        unsafe {
                            let p = out.get().add(r * d + k);
                            *p = T::from_f64((*p).f() + gv.f() * s);
                        }
                    }
                }
            }
        };
        let ptr = super::SendPtr(gw.as_mut_ptr());
        let work = self.idx.len().saturating_mul(d).max(g.len());
        if blocks > 1 && work >= super::GRAIN && super::get_num_threads() > 1 {
            super::par_for(blocks, &|b| run(b, ptr));
        } else {
            for b in 0..blocks {
                run(b, ptr);
            }
        }
    }

    /// The per-sample-weight gradient (sum mode): `gp[i] = <g[bag of i], w[idx[i]]>`,
    /// zero for padding entries and entries in no bag.
    pub fn backward_psw(&self, g: &[T], gp: &mut [T]) {
        gp.fill(T::default());
        let d = self.d;
        if g.len() != self.bags() * d || gp.len() != self.idx.len() {
            return;
        }
        for b in 0..self.bags() {
            let gb = &g[b * d..(b + 1) * d];
            for i in self.entries(b) {
                if Some(self.idx[i]) == self.pad {
                    continue;
                }
                let dot: f64 = self
                    .row(i)
                    .iter()
                    .zip(gb)
                    .map(|(&w, &gv)| w.f() * gv.f())
                    .sum();
                gp[i] = T::from_f64(dot);
            }
        }
    }
}
