//! The time the paging worker goes by: the system's, or one a test sets, so
//! escalation after "30m" is tested without waiting 30 minutes.

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use std::sync::Arc;

#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.manual {
            None => f.write_str("Clock(system)"),
            Some(_) => write!(f, "Clock(manual, {})", self.now()),
        }
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock that stands at `at` until moved.
    pub fn manual(at: DateTime<Utc>) -> Clock {
        Clock { manual: Some(Arc::new(Mutex::new(at))) }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            None => Utc::now(),
            Some(at) => *at.lock(),
        }
    }

    /// Moves a manual clock forward; the system clock cannot be moved.
    pub fn advance(&self, by: chrono::Duration) {
        if let Some(at) = &self.manual {
            let mut at = at.lock();
            *at += by;
        }
    }
}
