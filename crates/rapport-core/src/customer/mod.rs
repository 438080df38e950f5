//! The customer record (SPEC section 3): its enumerations, its validated data, and how a
//! JSON input becomes a change to it.

mod data;
mod enums;
mod input;
mod merge;
mod reader;

pub use data::{diff, Address, Bant, CustomerData, Preferences};
pub use enums::{Answer, CustomerType, LifecycleStage, Source, Status};
pub use input::{apply_input, is_currency, is_timezone, Applied, InputContext};
pub use merge::{plan_merge, undo_plan};

/// Upper bounds of the record, in one place for docs and tests.
pub mod limits {
    pub const NAME: usize = 200;
    pub const COMPANY_NAME: usize = 200;
    pub const JOB_TITLE: usize = 100;
    pub const INDUSTRY: usize = 100;
    pub const WEBSITE: usize = 255;
    pub const STREET: usize = 500;
    pub const CITY: usize = 100;
    pub const STATE: usize = 100;
    pub const POSTAL_CODE: usize = 20;
    pub const TAGS: usize = 50;
    pub const TAG: usize = 64;
    pub const SOURCE_DETAIL: usize = 200;
    pub const NOTES: usize = 5000;
    pub const STATUS_REASON: usize = 500;
    pub const CUSTOM_FIELDS_BYTES: usize = 16 * 1024;
}
