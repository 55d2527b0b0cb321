//! Where a tensor's storage lives.

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Device {
    Cpu,
    /// A CUDA device by ordinal; the backend lives behind the `cuda` feature.
    Cuda(usize),
    /// PyTorch's `meta` device: shape, dtype and strides without data. Ops compute
    /// their outputs' metadata and skip the values.
    Meta,
}

impl Device {
    pub fn parse(s: &str) -> Result<Device> {
        let s = s.trim();
        if s == "cpu" {
            return Ok(Device::Cpu);
        }
        if s == "cuda" {
            return Ok(Device::Cuda(0));
        }
        if s == "meta" {
            return Ok(Device::Meta);
        }
        if let Some(i) = s.strip_prefix("cuda:") {
            if let Ok(i) = i.parse() {
                return Ok(Device::Cuda(i));
            }
        }
        Err(Error::Runtime(format!(
            "Expected one of cpu, cuda, meta device type at start of device string: {s}"
        )))
    }

    pub fn type_name(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Cuda(_) => "cuda",
            Device::Meta => "meta",
        }
    }

    pub fn index(self) -> Option<usize> {
        match self {
            Device::Cpu | Device::Meta => None,
            Device::Cuda(i) => Some(i),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
            Device::Meta => f.write_str("meta"),
        }
    }
}

/// The kernels an op runs, decided once per op family from the devices of the op's
/// tensors (see `Backend::of`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The CPU kernels of `cpu::`, which get typed views of the tensors.
    Cpu,
    /// Shape-only tensors: the output's shape, dtype and strides are all there is to
    /// compute, and they are set before the kernel would run.
    Meta,
}

impl Backend {
    /// The backend for an op writing `out` from `inputs`: PyTorch's device-mismatch
    /// error when they are on different devices (a zero-dim CPU tensor may join an op on
    /// another device, as a Python scalar would).
    #[inline]
    pub fn of(out: &Tensor, inputs: &[&Tensor]) -> Result<Backend> {
        let dev = out.device();
        for t in inputs {
            let d = t.device();
            if d != dev && !(dev == Device::Meta && t.is_cpu_scalar()) {
                return Err(crate::tensor::devices_differ(dev, d));
            }
        }
        match dev {
            Device::Cpu => Ok(Backend::Cpu),
            Device::Meta => Ok(Backend::Meta),
            Device::Cuda(_) => Err(Error::Runtime(format!(
                "rtorch was built without CUDA support; no kernel for a tensor on {dev}"
            ))),
        }
    }
}
