//! The allocator every fuzz binary runs under: the system allocator, counting what the current
//! thread holds so the engine can tell a runaway allocation (a decoder trusting a length field)
//! from a normal one. Counters are per thread because `cargo test` runs targets side by side.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct CountingAlloc;

thread_local! {
    // Signed: memory allocated on another thread may be freed on this one.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(delta: isize) {
    // `try_with`: during thread teardown the slots may already be gone; counting stops there.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

// SAFETY: every call is forwarded unchanged to `System`; the counters only observe sizes.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Starts measuring: the peak is reset to what the thread holds now.
pub fn reset_peak() {
    let now = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(now));
}

/// Bytes above the thread's holdings at the last [`reset_peak`] that it held at its peak.
pub fn peak_since(baseline: isize) -> usize {
    PEAK.with(Cell::get).saturating_sub(baseline).max(0) as usize
}

/// What the thread holds now.
pub fn live() -> isize {
    LIVE.with(Cell::get)
}
