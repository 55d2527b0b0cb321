//! `rtorch.dtype` and `rtorch.device` objects. dtypes are singletons, so
//! `x.dtype is rtorch.float32` holds, as in PyTorch.

use crate::error::IntoPyResult;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use rtorch_core::{DType, Device};

#[pyclass(name = "dtype", module = "rtorch", frozen, eq, hash)]
#[derive(PartialEq, Eq, Hash, Clone, Copy)]
pub struct PyDType {
    pub dtype: DType,
}

static DTYPES: PyOnceLock<Vec<Py<PyDType>>> = PyOnceLock::new();

/// The singleton object for `d`.
pub fn dtype_object(py: Python<'_>, d: DType) -> Py<PyDType> {
    let all = DTYPES.get_or_init(py, || {
        DType::ALL
            .iter()
            .map(|&dtype| Py::new(py, PyDType { dtype }).expect("allocating a dtype object"))
            .collect()
    });
    all[d as usize].clone_ref(py)
}

#[pymethods]
impl PyDType {
    fn __repr__(&self) -> String {
        format!("torch.{}", self.dtype.name())
    }

    #[getter]
    fn is_floating_point(&self) -> bool {
        self.dtype.is_floating_point()
    }

    #[getter]
    fn is_signed(&self) -> bool {
        self.dtype.is_signed()
    }

    #[getter]
    fn is_complex(&self) -> bool {
        false
    }

    #[getter]
    fn itemsize(&self) -> usize {
        self.dtype.size()
    }

    /// Pickling support: dtypes pickle by name and come back as the singletons.
    fn __reduce__(&self, py: Python<'_>) -> PyResult<(Py<PyAny>, (String,))> {
        let f = py.import("rtorch")?.getattr("_dtype_from_name")?;
        Ok((f.unbind(), (self.dtype.name().to_string(),)))
    }
}

#[pyclass(name = "device", module = "rtorch", frozen, eq, hash)]
#[derive(PartialEq, Eq, Hash, Clone, Copy)]
pub struct PyDevice {
    pub device: Device,
    /// `device("cuda")` has no index and is not equal to `device("cuda:0")`.
    pub explicit_index: bool,
}

impl From<Device> for PyDevice {
    fn from(device: Device) -> PyDevice {
        PyDevice {
            device,
            explicit_index: true,
        }
    }
}

#[pymethods]
impl PyDevice {
    #[new]
    #[pyo3(signature = (spec, index=None))]
    fn new(spec: &Bound<'_, PyAny>, index: Option<usize>) -> PyResult<PyDevice> {
        if let Ok(d) = spec.cast::<PyDevice>() {
            return Ok(*d.get());
        }
        if let Ok(i) = spec.extract::<usize>() {
            return Ok(PyDevice::from(Device::Cuda(i)));
        }
        let s: String = spec.extract()?;
        let mut device = Device::parse(&s).py()?;
        let mut explicit_index = s.contains(':') || matches!(device, Device::Cpu | Device::Meta);
        if let (Some(i), Device::Cuda(_)) = (index, device) {
            device = Device::Cuda(i);
            explicit_index = true;
        }
        Ok(PyDevice {
            device,
            explicit_index,
        })
    }

    #[getter]
    fn r#type(&self) -> &'static str {
        self.device.type_name()
    }

    #[getter]
    fn index(&self) -> Option<usize> {
        if self.explicit_index {
            self.device.index()
        } else {
            None
        }
    }

    fn __repr__(&self) -> String {
        match (self.device, self.explicit_index) {
            (Device::Cpu, _) => "device(type='cpu')".to_string(),
            (Device::Cuda(_), false) => "device(type='cuda')".to_string(),
            (Device::Cuda(i), true) => format!("device(type='cuda', index={i})"),
            (Device::Meta, _) => "device(type='meta')".to_string(),
        }
    }

    fn __str__(&self) -> String {
        match (self.device, self.explicit_index) {
            (Device::Cuda(_), false) => "cuda".to_string(),
            _ => self.device.to_string(),
        }
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyType>, (String,))> {
        Ok((py.get_type::<PyDevice>(), (self.__str__(),)))
    }
}
