//! `berth` registry commands: pull, push, login, logout.

use crate::Globals;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {}

pub fn run(cmd: RegistryCommand, _g: &Globals) -> anyhow::Result<i32> {
    match cmd {}
}
