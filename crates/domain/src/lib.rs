//! The rules of Casebridge as pure types and functions.
//!
//! Nothing in this crate performs I/O: values are parsed at the edge into types that cannot
//! hold an invalid state, and the decisions (who may do what, which partnership is active,
//! whether a process form is well formed, whether the audit chain holds) are functions of
//! their inputs.

pub mod agreement;
pub mod audit;
pub mod authorization;
pub mod case;
pub mod category;
pub mod consent;
pub mod email;
pub mod events;
pub mod form;
pub mod ids;
pub mod member;
pub mod partnership;
pub mod password;
pub mod role;
pub mod sharing;
pub mod sla;
pub mod validation;

pub use category::DataCategory;
pub use email::EmailAddress;
pub use ids::*;
pub use role::{Action, Role};
pub use validation::{FieldError, ValidationErrors};
