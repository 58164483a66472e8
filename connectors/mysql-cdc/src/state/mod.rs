//! What this connector checkpoints: splits and enumerator events (`split`), the frozen types of
//! earlier state versions and their upgrades (`v1`), the golden bytes test (`golden`), and a
//! checkpoint described in words (`describe`).

pub mod describe;
#[cfg(test)]
mod golden;
pub mod split;
pub mod v1;
