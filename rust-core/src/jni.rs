//! The JNI surface: the only code that talks to the JVM. Java's
//! `io.flinkrust.bridge.jni.NativeBridge` declares every function here.
//!
//! Rules every entry point follows:
//! - It runs inside `entry`, which turns a `BridgeError` or a Rust panic into a Java exception
//!   (`NativeValidationException` for user errors, `NativeException` otherwise) carrying the
//!   message and the operation, never overwriting an exception already pending. The JVM survives.
//! - Native objects cross as opaque `long` handles (`Box::into_raw`); Java frees each exactly once.
//! - No native thread ever calls into the JVM: Java threads call in and may block here.

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use ::jni::objects::{JByteArray, JClass, JObject, JObjectArray, JString};
use ::jni::sys::{jboolean, jbyteArray, jint, jlong, jobjectArray, jstring, JNI_FALSE, JNI_TRUE};
use ::jni::JNIEnv;

use crate::api::{Availability, Boundedness, SourceFactory};
use crate::api::{EnumeratorInit, ReaderInit, WaitOutcome, DEFAULT_BATCH_ROWS};
use crate::error::{BridgeError, Result};
use crate::log_context::LogContext;
use crate::logging;
use crate::metrics::Metrics;
use crate::protocol;
use crate::registry::{self, Registry};
use crate::runtime::{
    self, parse_projection, DynSource, EnumeratorRuntime, ReaderRuntime, PROJECTION_OPTION,
};
use crate::types::RowType;

/// The raw JavaVM pointer type `JNI_OnLoad` receives.
pub type RawJavaVm = *mut ::jni::sys::JavaVM;

const VALIDATION_EXCEPTION: &str = "io/flinkrust/bridge/jni/NativeValidationException";
const NATIVE_EXCEPTION: &str = "io/flinkrust/bridge/jni/NativeException";

/// Defines the library's `JNI_OnLoad`, installing the given connector factories, and
/// `factories()`, the same list for the library's own tests. Used once, by the cdylib crate:
/// `rust_core::export_bridge!(DatagenFactory, ...);`
#[macro_export]
macro_rules! export_bridge {
    ($($factory:expr),* $(,)?) => {
        /// Every connector this library serves.
        pub fn factories() -> Vec<Box<dyn $crate::api::SourceFactory>> {
            vec![$(Box::new($factory) as Box<dyn $crate::api::SourceFactory>),*]
        }

        #[no_mangle]
        pub extern "system" fn JNI_OnLoad(
            _vm: $crate::jni::RawJavaVm,
            _reserved: *mut ::std::ffi::c_void,
        ) -> i32 {
            $crate::jni::on_load(factories())
        }
    };
}

/// Library initialisation: registry, logging, and a panic hook that records where a panic
/// happened (for the Java exception) instead of printing to stderr.
pub fn on_load(factories: Vec<Box<dyn SourceFactory>>) -> i32 {
    registry::install(Registry::new(factories));
    logging::install();
    panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        tracing::error!(target: "rust_core::panic", "{message}");
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(message));
    }));
    ::jni::sys::JNI_VERSION_1_8
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

impl From<::jni::errors::Error> for BridgeError {
    fn from(e: ::jni::errors::Error) -> Self {
        BridgeError::other(format!("JNI: {e}"))
    }
}

/// A value an entry point returns to Java, and what it returns when it threw instead.
pub trait JniReturn {
    /// What Java gets back when the entry point threw (0, -1, false or null); Java sees the
    /// exception, not this value.
    fn on_exception() -> Self;
}

macro_rules! jni_return {
    ($($t:ty => $v:expr),*) => { $(impl JniReturn for $t { fn on_exception() -> Self { $v } })* };
}
// jbyteArray, jobjectArray and jstring are all `jobject`: one impl covers them.
jni_return!(jlong => 0, jint => -1, jboolean => JNI_FALSE, () => (),
    ::jni::sys::jobject => std::ptr::null_mut());

/// Runs an entry point: errors and panics become Java exceptions naming `operation`.
fn entry<R: JniReturn>(
    env: &mut JNIEnv,
    operation: &str,
    f: impl FnOnce(&mut JNIEnv) -> Result<R>,
) -> R {
    // SAFETY: the clone is used only inside the closure, on this thread, within this call.
    let mut inner_env = unsafe { env.unsafe_clone() };
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| f(&mut inner_env)));
    let (class, message) = match outcome {
        Ok(Ok(value)) => return value,
        Ok(Err(err)) => {
            let class = if err.is_validation() {
                VALIDATION_EXCEPTION
            } else {
                NATIVE_EXCEPTION
            };
            (class, format!("{operation}: {}", error_chain(&err)))
        }
        Err(payload) => {
            let detail = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| panic_payload(&*payload));
            (
                NATIVE_EXCEPTION,
                format!("{operation}: Rust panic: {detail}"),
            )
        }
    };
    // An exception raised by a JNI call inside `f` is already pending: keep it, it is the cause.
    if !env.exception_check().unwrap_or(true) {
        let _ = env.throw_new(class, message);
    }
    R::on_exception()
}

fn error_chain(err: &BridgeError) -> String {
    err.message_chain()
}

fn panic_payload(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Argument conversion
// ---------------------------------------------------------------------------------------------

fn string(env: &mut JNIEnv, s: &JString) -> Result<String> {
    Ok(env.get_string(s)?.into())
}

fn optional_string(env: &mut JNIEnv, s: &JString) -> Result<Option<String>> {
    if s.is_null() {
        Ok(None)
    } else {
        string(env, s).map(Some)
    }
}

fn strings(env: &mut JNIEnv, array: &JObjectArray) -> Result<Vec<String>> {
    let n = env.get_array_length(array)?;
    (0..n)
        .map(|i| {
            let element = JString::from(env.get_object_array_element(array, i)?);
            string(env, &element)
        })
        .collect()
}

fn bytes(env: &mut JNIEnv, array: &JByteArray) -> Result<Vec<u8>> {
    Ok(env.convert_byte_array(array)?)
}

fn optional_bytes(env: &mut JNIEnv, array: &JByteArray) -> Result<Option<Vec<u8>>> {
    if array.is_null() {
        Ok(None)
    } else {
        bytes(env, array).map(Some)
    }
}

fn new_bytes(env: &mut JNIEnv, data: &[u8]) -> Result<jbyteArray> {
    Ok(env.byte_array_from_slice(data)?.into_raw())
}

/// The arguments every source-creating call carries: connector, options, and row type.
/// A created source: connector identifier, the source, and the projection readers apply.
type ProjectedSource = (String, Box<dyn DynSource>, Option<Vec<usize>>);

struct SourceSpec {
    connector: String,
    options: BTreeMap<String, String>,
    row_type: RowType,
    /// From the reserved [`PROJECTION_OPTION`], which the connector never sees.
    projection: Option<Vec<usize>>,
}

impl SourceSpec {
    fn read(
        env: &mut JNIEnv,
        connector: &JString,
        keys: &JObjectArray,
        values: &JObjectArray,
        names: &JObjectArray,
        types: &JObjectArray,
    ) -> Result<Self> {
        let connector = string(env, connector)?;
        let keys = strings(env, keys)?;
        let values = strings(env, values)?;
        if keys.len() != values.len() {
            return Err(BridgeError::other(
                "option keys and values differ in length",
            ));
        }
        let names = strings(env, names)?;
        let types = strings(env, types)?;
        let row_type = RowType::parse(&names, &types)?;
        let mut options: BTreeMap<String, String> = keys.into_iter().zip(values).collect();
        let projection = options
            .remove(PROJECTION_OPTION)
            .map(|p| parse_projection(&p, row_type.arity()))
            .transpose()?;
        Ok(SourceSpec {
            connector,
            options,
            row_type,
            projection,
        })
    }

    fn create(self) -> Result<(String, Box<dyn DynSource>)> {
        let source =
            registry::global()?.create_source(&self.connector, self.options, &self.row_type)?;
        Ok((self.connector, source))
    }

    /// As [`Self::create`], with the projection readers apply before encoding.
    fn create_projected(mut self) -> Result<ProjectedSource> {
        let projection = self.projection.take();
        let (connector, source) = self.create()?;
        Ok((connector, source, projection))
    }
}

// ---------------------------------------------------------------------------------------------
// Handles
// ---------------------------------------------------------------------------------------------

struct EnumeratorHandle {
    label: String,
    runtime: EnumeratorRuntime,
}

struct ReaderHandle {
    label: String,
    runtime: ReaderRuntime,
}

fn into_handle<T>(value: T) -> jlong {
    Box::into_raw(Box::new(value)) as jlong
}

/// # Safety
/// `handle` must come from [`into_handle::<T>`] and not have been freed (Java guarantees this).
unsafe fn handle_ref<'a, T>(handle: jlong) -> Result<&'a mut T> {
    (handle as *mut T)
        .as_mut()
        .ok_or_else(|| BridgeError::other("native handle is null (already closed)"))
}

/// # Safety
/// As [`handle_ref`]; afterwards the handle is dangling and Java must forget it.
unsafe fn free_handle<T>(handle: jlong) -> Option<Box<T>> {
    (handle != 0).then(|| Box::from_raw(handle as *mut T))
}

fn enumerator_call(
    env: &mut JNIEnv,
    handle: jlong,
    op: &str,
    f: impl FnOnce(&mut JNIEnv, &EnumeratorRuntime) -> Result<Vec<u8>>,
) -> jbyteArray {
    entry(env, op, |env| {
        // SAFETY: Java passes a live enumerator handle.
        let h = unsafe { handle_ref::<EnumeratorHandle>(handle)? };
        let out = f(env, &h.runtime).map_err(|e| context(&h.label, e))?;
        new_bytes(env, &out)
    })
}

fn reader_call(
    env: &mut JNIEnv,
    handle: jlong,
    op: &str,
    f: impl FnOnce(&mut JNIEnv, &mut ReaderRuntime) -> Result<Vec<u8>>,
) -> jbyteArray {
    entry(env, op, |env| {
        // SAFETY: Java passes a live reader handle, from the task thread only.
        let h = unsafe { handle_ref::<ReaderHandle>(handle)? };
        let out = f(env, &mut h.runtime).map_err(|e| context(&h.label, e))?;
        new_bytes(env, &out)
    })
}

/// Prefixes a non-validation error with the object it happened in ("rust-datagen reader 2/4").
fn context(label: &str, err: BridgeError) -> BridgeError {
    match err {
        e if e.is_validation() => e,
        BridgeError::Other(m) => BridgeError::Other(format!("{label}: {m}")),
        e => BridgeError::Other(format!("{label}: {}", error_chain(&e))),
    }
}

// ---------------------------------------------------------------------------------------------
// Library
// ---------------------------------------------------------------------------------------------

/// rust-core's version (`CARGO_PKG_VERSION`), which Java logs when it loads the library.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_nativeVersion(
    mut env: JNIEnv,
    _class: JClass,
) -> jstring {
    entry(&mut env, "nativeVersion", |env| {
        Ok(env.new_string(env!("CARGO_PKG_VERSION"))?.into_raw())
    })
}

/// The identifiers of the connectors this library serves, sorted.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_connectors(
    mut env: JNIEnv,
    _class: JClass,
) -> jobjectArray {
    entry(&mut env, "connectors", |env| {
        let ids = registry::global()?.identifiers();
        let array = env.new_object_array(ids.len() as i32, "java/lang/String", JObject::null())?;
        for (i, id) in ids.iter().enumerate() {
            let s = env.new_string(id)?;
            env.set_object_array_element(&array, i as i32, s)?;
        }
        Ok(array.into_raw())
    })
}

/// Sets the most verbose level forwarded to Java (0 off … 5 trace, clamped).
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_setMaxLogLevel(
    mut env: JNIEnv,
    _class: JClass,
    level: jint,
) {
    entry(&mut env, "setMaxLogLevel", |_| {
        logging::set_max_level(level.clamp(0, 5) as u8);
        Ok(())
    })
}

/// Blocks until log records are queued or `wakeLogDrain` is called. Returns triples
/// (level, target, message) flattened into one array; empty when woken with nothing.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_awaitLogRecords(
    mut env: JNIEnv,
    _class: JClass,
) -> jobjectArray {
    entry(&mut env, "awaitLogRecords", |env| {
        let records = logging::await_records();
        let array = env.new_object_array(
            3 * records.len() as i32,
            "java/lang/String",
            JObject::null(),
        )?;
        for (i, r) in records.iter().enumerate() {
            let i = 3 * i as i32;
            let level = env.new_string(r.level.to_string())?;
            env.set_object_array_element(&array, i, level)?;
            let target = env.new_string(&r.target)?;
            env.set_object_array_element(&array, i + 1, target)?;
            let message = env.new_string(&r.message)?;
            env.set_object_array_element(&array, i + 2, message)?;
        }
        Ok(array.into_raw())
    })
}

/// Makes the current or next `awaitLogRecords` return, so Java's drain thread can stop.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_wakeLogDrain(
    mut env: JNIEnv,
    _class: JClass,
) {
    entry(&mut env, "wakeLogDrain", |_| {
        logging::wake();
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Source validation (client, at job submission)
// ---------------------------------------------------------------------------------------------

/// Validates options and row type exactly as enumerator and readers will, then runs the source's
/// preflight checks (connectivity, privileges, server settings); returns whether the source is
/// bounded. Throws `NativeValidationException` naming the option on bad input.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_validateSource(
    mut env: JNIEnv,
    _class: JClass,
    connector: JString,
    keys: JObjectArray,
    values: JObjectArray,
    names: JObjectArray,
    types: JObjectArray,
) -> jboolean {
    entry(&mut env, "validateSource", |env| {
        let spec = SourceSpec::read(env, &connector, &keys, &values, &names, &types)?;
        let source =
            registry::global()?.validate_source(&spec.connector, spec.options, &spec.row_type)?;
        Ok(if source.boundedness() == Boundedness::Bounded {
            JNI_TRUE
        } else {
            JNI_FALSE
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Enumerator (JobManager)
// ---------------------------------------------------------------------------------------------

/// Creates the enumerator (JobManager, coordinator thread), from checkpoint bytes when
/// `restored_state` is not null; returns its handle.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_enumeratorCreate(
    mut env: JNIEnv,
    _class: JClass,
    connector: JString,
    keys: JObjectArray,
    values: JObjectArray,
    names: JObjectArray,
    types: JObjectArray,
    parallelism: jint,
    restored_state: JByteArray,
) -> jlong {
    entry(&mut env, "enumeratorCreate", |env| {
        let (connector, source) =
            SourceSpec::read(env, &connector, &keys, &values, &names, &types)?.create()?;
        let restored = optional_bytes(env, &restored_state)?;
        let init = EnumeratorInit {
            parallelism: parallelism.max(1) as u32,
        };
        // Every event of this enumerator, from creation on, carries the connector.
        let log_context = LogContext::new(&[("connector", &connector)]);
        let enumerator =
            log_context.scope(|| source.create_enumerator(&init, restored.as_deref()))?;
        Ok(into_handle(EnumeratorHandle {
            label: format!("{connector} enumerator"),
            runtime: EnumeratorRuntime::with_log_context(enumerator, log_context),
        }))
    })
}

/// `SplitEnumerator::start`; returns enumerator commands.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_enumeratorStart(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) -> jbyteArray {
    enumerator_call(&mut env, handle, "enumerator.start", |_, rt| {
        rt.call(|e| e.start())
    })
}

/// A reader registered; returns enumerator commands.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_enumeratorAddReader(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    subtask: jint,
) -> jbyteArray {
    enumerator_call(&mut env, handle, "enumerator.addReader", |_, rt| {
        rt.call(|e| e.add_reader(subtask as u32))
    })
}

/// A reader asked for a split (`hostname` may be null); returns enumerator commands.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_enumeratorHandleSplitRequest(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    subtask: jint,
    hostname: JString,
) -> jbyteArray {
    enumerator_call(
        &mut env,
        handle,
        "enumerator.handleSplitRequest",
        |env, rt| {
            let hostname = optional_string(env, &hostname)?;
            rt.call(|e| e.handle_split_request(subtask as u32, hostname.as_deref()))
        },
    )
}

/// Splits handed back for `subtask` (a split list), on reset; returns enumerator commands.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_enumeratorAddSplitsBack(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    subtask: jint,
    split_list: JByteArray,
) -> jbyteArray {
    enumerator_call(&mut env, handle, "enumerator.addSplitsBack", |env, rt| {
        let splits = protocol::decode_split_list(&bytes(env, &split_list)?)?;
        rt.call(|e| e.add_splits_back(splits, subtask as u32))
    })
}

/// An event from a reader; returns enumerator commands.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_enumeratorHandleSourceEvent(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    subtask: jint,
    event: JByteArray,
) -> jbyteArray {
    enumerator_call(
        &mut env,
        handle,
        "enumerator.handleSourceEvent",
        |env, rt| {
            let event = bytes(env, &event)?;
            rt.call(|e| e.handle_source_event(subtask as u32, &event))
        },
    )
}

/// The enumerator's state for a checkpoint, as versioned bytes.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_enumeratorSnapshotState(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    checkpoint_id: jlong,
) -> jbyteArray {
    enumerator_call(&mut env, handle, "enumerator.snapshotState", |_, rt| {
        rt.with(|e| e.snapshot_state(checkpoint_id as u64))
    })
}

/// A checkpoint completed; returns enumerator commands.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_enumeratorNotifyCheckpointComplete(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    checkpoint_id: jlong,
) -> jbyteArray {
    enumerator_call(
        &mut env,
        handle,
        "enumerator.notifyCheckpointComplete",
        |_, rt| rt.call(|e| e.notify_checkpoint_complete(checkpoint_id as u64)),
    )
}

/// A checkpoint was aborted.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_enumeratorNotifyCheckpointAborted(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    checkpoint_id: jlong,
) {
    entry(&mut env, "enumerator.notifyCheckpointAborted", |_| {
        // SAFETY: Java passes a live enumerator handle.
        let h = unsafe { handle_ref::<EnumeratorHandle>(handle)? };
        h.runtime
            .with(|e| e.notify_checkpoint_aborted(checkpoint_id as u64))
    })
}

/// Runs an async task on the calling Flink worker thread; returns its result bytes.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_enumeratorRunAsync(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    task_id: jlong,
    periodic: jboolean,
) -> jbyteArray {
    enumerator_call(&mut env, handle, "enumerator.runAsync", |_, rt| {
        rt.run_async(task_id as u64, periodic == JNI_TRUE)
    })
}

/// Hands an async task's result (or its error message) back to the enumerator.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_enumeratorHandleAsyncResult(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    task_id: jlong,
    result: JByteArray,
    error: JString,
) -> jbyteArray {
    enumerator_call(
        &mut env,
        handle,
        "enumerator.handleAsyncResult",
        |env, rt| {
            let result = match optional_string(env, &error)? {
                Some(message) => Err(message),
                None => Ok(optional_bytes(env, &result)?.unwrap_or_default()),
            };
            rt.call(|e| e.handle_async_result(task_id as u64, result))
        },
    )
}

/// Closes the enumerator and frees its handle; Java calls it once, last.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_enumeratorClose(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) {
    entry(&mut env, "enumerator.close", |_| {
        // SAFETY: Java calls close once, after every other call on this handle has returned.
        match unsafe { free_handle::<EnumeratorHandle>(handle) } {
            Some(h) => h
                .runtime
                .with(|e| e.close())
                .map_err(|e| context(&h.label, e)),
            None => Ok(()),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Reader (TaskManager)
// ---------------------------------------------------------------------------------------------

/// Creates a reader (TaskManager, task thread) for `subtask` of `parallelism`, with the job's
/// local directories; returns its handle.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_readerCreate(
    mut env: JNIEnv,
    _class: JClass,
    connector: JString,
    keys: JObjectArray,
    values: JObjectArray,
    names: JObjectArray,
    types: JObjectArray,
    subtask: jint,
    parallelism: jint,
    local_dirs: JObjectArray,
) -> jlong {
    entry(&mut env, "readerCreate", |env| {
        let (connector, source, projection) =
            SourceSpec::read(env, &connector, &keys, &values, &names, &types)?
                .create_projected()?;
        let init = ReaderInit {
            subtask_index: subtask as u32,
            parallelism: parallelism.max(1) as u32,
            batch_rows: DEFAULT_BATCH_ROWS,
            local_dirs: strings(env, &local_dirs)?
                .into_iter()
                .map(std::path::PathBuf::from)
                .collect(),
        };
        // Every event of this reader, from creation on, carries the connector and subtask index
        // (0-based, as in Flink's metric scope and REST API).
        let log_context = LogContext::new(&[("connector", &connector), ("subtask", &subtask)]);
        let runtime = log_context
            .scope(|| ReaderRuntime::with_projection(source.as_ref(), init, projection))?
            .with_log_context(log_context);
        Ok(into_handle(ReaderHandle {
            label: format!("{connector} reader {}/{}", subtask + 1, parallelism),
            runtime,
        }))
    })
}

/// `SourceReader::start`; returns a reader response (status none).
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_readerStart(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) -> jbyteArray {
    reader_call(&mut env, handle, "reader.start", |_, rt| {
        rt.call(|r, ctx| r.start(ctx))
    })
}

/// Polls once: a batch of rows, nothing available (with what to wait for), or end of input.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_readerPollNext(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) -> jbyteArray {
    entry(&mut env, "reader.pollNext", |env| {
        // SAFETY: Java passes a live reader handle, from the task thread only.
        let h = unsafe { handle_ref::<ReaderHandle>(handle)? };
        let response = h.runtime.poll().map_err(|e| context(&h.label, e))?;
        new_bytes(env, response)
    })
}

/// Splits assigned to the reader (a split list); returns a reader response (status none).
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_readerAddSplits(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    split_list: JByteArray,
) -> jbyteArray {
    reader_call(&mut env, handle, "reader.addSplits", |env, rt| {
        let splits = protocol::decode_split_list(&bytes(env, &split_list)?)?;
        rt.call(|r, ctx| r.add_splits(splits, ctx))
    })
}

/// The enumerator will send no more splits; returns a reader response (status none).
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_readerNotifyNoMoreSplits(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) -> jbyteArray {
    reader_call(&mut env, handle, "reader.notifyNoMoreSplits", |_, rt| {
        rt.call(|r, ctx| r.notify_no_more_splits(ctx))
    })
}

/// An event from the enumerator; returns a reader response (status none).
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_readerHandleSourceEvent(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    event: JByteArray,
) -> jbyteArray {
    reader_call(&mut env, handle, "reader.handleSourceEvent", |env, rt| {
        let event = bytes(env, &event)?;
        rt.call(|r, ctx| r.handle_source_event(&event, ctx))
    })
}

/// The reader's splits as a split list.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_readerSnapshotState(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    checkpoint_id: jlong,
) -> jbyteArray {
    reader_call(&mut env, handle, "reader.snapshotState", |_, rt| {
        rt.snapshot_state(checkpoint_id as u64)
    })
}

/// A checkpoint completed; the reader may release what it covered.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_readerNotifyCheckpointComplete(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    checkpoint_id: jlong,
) {
    entry(&mut env, "reader.notifyCheckpointComplete", |_| {
        // SAFETY: Java passes a live reader handle, from the task thread only.
        let h = unsafe { handle_ref::<ReaderHandle>(handle)? };
        h.runtime
            .notify_checkpoint_complete(checkpoint_id as u64)
            .map_err(|e| context(&h.label, e))
    })
}

/// A new handle to the reader's availability signal, for the Java thread that waits for data.
/// It outlives the reader; Java frees it with `availabilityRelease`.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_readerAvailability(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) -> jlong {
    entry(&mut env, "reader.availability", |_| {
        // SAFETY: Java passes a live reader handle, from the task thread only.
        let h = unsafe { handle_ref::<ReaderHandle>(handle)? };
        Ok(into_handle(h.runtime.availability()))
    })
}

/// Closes the reader (stopping its background work) and frees its handle; once, last.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_readerClose(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) {
    entry(&mut env, "reader.close", |_| {
        // SAFETY: Java calls close once, from the task thread, after every other reader call.
        match unsafe { free_handle::<ReaderHandle>(handle) } {
            Some(mut h) => h.runtime.close().map_err(|e| context(&h.label, e)),
            None => Ok(()),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Availability signal
// ---------------------------------------------------------------------------------------------

/// Blocks until the signal's epoch differs from `seen_epoch`, the reader closes, or
/// `timeout_nanos` (if > 0) passes. Returns 0 notified, 1 timed out, 2 closed.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_availabilityAwait(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    seen_epoch: jlong,
    timeout_nanos: jlong,
) -> jint {
    entry(&mut env, "availability.await", |_| {
        // SAFETY: Java passes a live availability handle.
        let signal = unsafe { handle_ref::<Availability>(handle)? };
        let timeout = (timeout_nanos > 0).then(|| Duration::from_nanos(timeout_nanos as u64));
        Ok(
            match runtime::await_availability(signal, seen_epoch as u64, timeout) {
                WaitOutcome::Notified => 0,
                WaitOutcome::TimedOut => 1,
                WaitOutcome::Closed => 2,
            },
        )
    })
}

/// Frees an availability handle; Java calls it once, after its last await returned.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_availabilityRelease(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) {
    entry(&mut env, "availability.release", |_| {
        // SAFETY: Java releases each availability handle once, after its last await returned.
        drop(unsafe { free_handle::<Availability>(handle) });
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Metrics (any JVM thread: Flink's metric reporters read gauges on their own threads)
// ---------------------------------------------------------------------------------------------

/// A new handle to the reader's metrics. It outlives the reader; Java frees it with
/// `metricsRelease` once Flink no longer reads the metrics.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_readerMetrics(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) -> jlong {
    entry(&mut env, "reader.metrics", |_| {
        // SAFETY: Java passes a live reader handle, from the task thread only.
        let h = unsafe { handle_ref::<ReaderHandle>(handle)? };
        Ok(into_handle(h.runtime.metrics()))
    })
}

/// A new handle to the enumerator's metrics; freed with `metricsRelease`.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_enumeratorMetrics(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) -> jlong {
    entry(&mut env, "enumerator.metrics", |_| {
        // SAFETY: Java passes a live enumerator handle.
        let h = unsafe { handle_ref::<EnumeratorHandle>(handle)? };
        Ok(into_handle(h.runtime.metrics()))
    })
}

/// Changes whenever a metric is registered.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_metricsGeneration(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) -> jlong {
    entry(&mut env, "metrics.generation", |_| {
        // SAFETY: Java passes a live metrics handle.
        Ok(unsafe { handle_ref::<Metrics>(handle)? }.generation() as jlong)
    })
}

/// Every metric as flattened pairs (kind number, name) in registration order; a metric's index
/// is its position (kinds: `MetricKind`).
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_metricsDescribe(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) -> jobjectArray {
    entry(&mut env, "metrics.describe", |env| {
        // SAFETY: Java passes a live metrics handle.
        let metrics = unsafe { handle_ref::<Metrics>(handle)? }.descriptors();
        let array = env.new_object_array(
            2 * metrics.len() as i32,
            "java/lang/String",
            JObject::null(),
        )?;
        for (i, (kind, name)) in metrics.iter().enumerate() {
            let kind = env.new_string((*kind as u8).to_string())?;
            env.set_object_array_element(&array, 2 * i as i32, kind)?;
            let name = env.new_string(name)?;
            env.set_object_array_element(&array, 2 * i as i32 + 1, name)?;
        }
        Ok(array.into_raw())
    })
}

/// The value of the counter, gauge or elapsed-time metric at `index`.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_metricsLong(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    index: jint,
) -> jlong {
    entry(&mut env, "metrics.long", |_| {
        // SAFETY: Java passes a live metrics handle.
        unsafe { handle_ref::<Metrics>(handle)? }.long_value(index.max(0) as usize)
    })
}

/// The value of the metric at `index` as text (for `Gauge<String>`).
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_metricsText(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
    index: jint,
) -> jstring {
    entry(&mut env, "metrics.text", |env| {
        // SAFETY: Java passes a live metrics handle.
        let text = unsafe { handle_ref::<Metrics>(handle)? }.text_value(index.max(0) as usize)?;
        Ok(env.new_string(text)?.into_raw())
    })
}

/// Frees a metrics handle; once, after Flink's last read returned.
#[no_mangle]
pub extern "system" fn Java_io_flinkrust_bridge_jni_NativeBridge_metricsRelease(
    mut env: JNIEnv,
    _class: JClass,
    handle: jlong,
) {
    entry(&mut env, "metrics.release", |_| {
        // SAFETY: Java releases each metrics handle once, after its last read returned.
        drop(unsafe { free_handle::<Metrics>(handle) });
        Ok(())
    })
}

/// The handle round trip is the only `unsafe` code of rust-core that no JVM is needed for: these
/// tests let `make sanitize` (valgrind memcheck, Miri) check it: a value lives exactly from
/// `into_handle` to `free_handle`, is reachable through `handle_ref` in between, and a null
/// handle is an error, not a dereference.
#[cfg(test)]
mod handle_tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    struct Counted {
        value: u64,
        drops: Arc<AtomicUsize>,
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_handle_owns_its_value_until_freed_exactly_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let handle = into_handle(Counted {
            value: 7,
            drops: drops.clone(),
        });
        assert_ne!(handle, 0);
        // SAFETY: `handle` comes from `into_handle::<Counted>` and is freed only below.
        unsafe {
            handle_ref::<Counted>(handle).unwrap().value += 1;
            assert_eq!(handle_ref::<Counted>(handle).unwrap().value, 8);
        }
        assert_eq!(drops.load(Ordering::SeqCst), 0, "alive while the handle is");
        // SAFETY: as above; the handle is not used afterwards.
        let value =
            unsafe { free_handle::<Counted>(handle) }.expect("a live handle frees its value");
        assert_eq!(value.value, 8);
        drop(value);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "dropped exactly once, when freed"
        );
    }

    #[test]
    fn a_null_handle_is_an_error_and_frees_nothing() {
        // SAFETY: a null handle is the one invalid value both functions must reject.
        unsafe {
            let err = handle_ref::<u64>(0).unwrap_err();
            assert!(err.to_string().contains("already closed"), "{err}");
            assert!(free_handle::<u64>(0).is_none());
        }
    }
}
