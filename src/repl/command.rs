//! The REPL's meta-commands as one enum (after datafusion-cli's
//! `command.rs`): each command's names, usage and help text live in its
//! variant, so parsing, `\?` and tab completion read the same list and
//! cannot drift apart.

use anyhow::{bail, Result};

/// A meta-command: a line starting with `\`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaCommand {
    Help,
    Quit,
    Tables,
    Charts,
    Describe,
    Run,
    Export,
    Set,
    Unset,
    Functions,
    Format,
    MaxRows,
    Timing,
    Include,
}

impl MetaCommand {
    /// Every meta-command, in the order `\?` lists them.
    pub const ALL: [MetaCommand; 14] = [
        MetaCommand::Help,
        MetaCommand::Quit,
        MetaCommand::Tables,
        MetaCommand::Charts,
        MetaCommand::Describe,
        MetaCommand::Run,
        MetaCommand::Export,
        MetaCommand::Set,
        MetaCommand::Unset,
        MetaCommand::Functions,
        MetaCommand::Format,
        MetaCommand::MaxRows,
        MetaCommand::Timing,
        MetaCommand::Include,
    ];

    /// The names that call it: the first is the one help and completion
    /// offer, the others are aliases.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            MetaCommand::Help => &["\\?", "\\h", "\\help"],
            MetaCommand::Quit => &["\\q", "\\quit"],
            MetaCommand::Tables => &["\\d"],
            MetaCommand::Charts => &["\\charts", "\\list"],
            MetaCommand::Describe => &["\\describe"],
            MetaCommand::Run => &["\\run"],
            MetaCommand::Export => &["\\export"],
            MetaCommand::Set => &["\\set"],
            MetaCommand::Unset => &["\\unset"],
            MetaCommand::Functions => &["\\functions"],
            MetaCommand::Format => &["\\format"],
            MetaCommand::MaxRows => &["\\maxrows"],
            MetaCommand::Timing => &["\\timing"],
            MetaCommand::Include => &["\\i"],
        }
    }

    /// The name help and completion offer.
    pub fn name(self) -> &'static str {
        self.names()[0]
    }

    /// Its lines in `\?`: (synopsis, what it does); a line break in the
    /// text continues it under the text column.
    pub fn help(self) -> &'static [(&'static str, &'static str)] {
        match self {
            MetaCommand::Help => &[("\\?", "this help")],
            MetaCommand::Quit => &[("\\q", "quit (also Ctrl-D)")],
            MetaCommand::Tables => &[("\\d", "list tables"), ("\\d NAME", "columns of a table")],
            MetaCommand::Charts => &[("\\charts", "list the charts")],
            MetaCommand::Describe => &[(
                "\\describe CHART",
                "parameters and output columns of a chart",
            )],
            MetaCommand::Run => &[(
                "\\run CHART [k=v ...]",
                "run a chart (session parameters from \\set apply)",
            )],
            MetaCommand::Export => &[(
                "\\export CHART PATH",
                "write a chart to PATH.csv, PATH.parquet, or a folder\n\
                 (Parquet, CSV, Power Query and manifest.json)",
            )],
            MetaCommand::Set => &[(
                "\\set [NAME VALUE]",
                "set a chart parameter for this session; alone: list them;\n\
                 \\set sdc corc|mhsds|none chooses the disclosure control",
            )],
            MetaCommand::Unset => &[("\\unset NAME", "forget a session parameter")],
            MetaCommand::Functions => &[(
                "\\functions [NAME]",
                "the cypdash SQL functions, or one in full",
            )],
            MetaCommand::Format => &[("\\format [FORMAT]", "table, csv, json or markdown")],
            MetaCommand::MaxRows => &[(
                "\\maxrows [N]",
                "rows printed at most in table/markdown (0: all)",
            )],
            MetaCommand::Timing => &[("\\timing [on|off]", "print how long each statement takes")],
            MetaCommand::Include => &[("\\i FILE", "run the lines of a file")],
        }
    }

    /// The error for arguments it does not take.
    pub fn usage(self) -> anyhow::Error {
        let text = match self {
            MetaCommand::Run => "\\run CHART [name=value ...]",
            MetaCommand::Export => "\\export CHART PATH (PATH.csv, PATH.parquet or a folder)",
            MetaCommand::Format => "\\format table|csv|json|markdown",
            MetaCommand::Set => "\\set NAME VALUE",
            MetaCommand::MaxRows => "\\maxrows N",
            MetaCommand::Tables => "\\d [TABLE]",
            MetaCommand::Functions => "\\functions [NAME]",
            other => other.help()[0].0,
        };
        anyhow::anyhow!("usage: {text}")
    }

    /// The command a line starts with, and the rest of the line.
    pub fn parse(line: &str) -> Result<(MetaCommand, &str)> {
        let line = line.trim();
        let word = line.split_whitespace().next().unwrap_or_default();
        let rest = line[word.len()..].trim();
        match Self::ALL.iter().find(|c| c.names().contains(&word)) {
            Some(command) => Ok((*command, rest)),
            None => bail!("unknown command `{word}`: \\? lists the commands"),
        }
    }
}

/// Synopsis column width in `\?`.
const SYNOPSIS: usize = 25;

/// The `\?` text: how lines are read, every meta-command, and what Ctrl-C
/// does.
pub fn help_text() -> String {
    let mut text = String::from(
        "\
SQL: type a statement ending in `;` (it may span lines); several may share a line.
  Tables: the input tables, ref_* reference tables, the shared blocks; see \\d.
  A line starting with \\ is a meta-command, also inside an unfinished statement:
  the statement is kept and goes on at the next line (\\q still quits).

Meta-commands:
",
    );
    for command in MetaCommand::ALL {
        for (synopsis, what) in command.help() {
            let mut lines = what.lines();
            let first = lines.next().unwrap_or_default();
            text.push_str(&format!("  {synopsis:<SYNOPSIS$}{first}\n"));
            for more in lines {
                text.push_str(&format!("  {:<SYNOPSIS$}{}\n", "", more.trim()));
            }
        }
    }
    text.push_str(
        "
Ctrl-C cancels a running query, chart run or export and keeps the session;
at the prompt it clears a half-typed statement.
Shared blocks (sdq_score, in_scope_referral, ...) are computed on first use;
bound views among them hold the parameters of the last chart run.",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_to_its_command() {
        for command in MetaCommand::ALL {
            for name in command.names() {
                assert_eq!(MetaCommand::parse(name).unwrap().0, command, "{name}");
            }
        }
        let (command, rest) = MetaCommand::parse("  \\set  min_n 3 ").unwrap();
        assert_eq!((command, rest), (MetaCommand::Set, "min_n 3"));
        let err = MetaCommand::parse("\\frobnicate x")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unknown command `\\frobnicate`: \\? lists the commands"
        );
    }

    #[test]
    fn help_lists_every_command_once() {
        let help = help_text();
        for command in MetaCommand::ALL {
            let at = format!("\n  {} ", command.name());
            let alone = format!("\n  {}\n", command.name());
            assert!(
                help.matches(&at).count() + help.matches(&alone).count() >= 1,
                "{} missing from help",
                command.name()
            );
        }
        // A long synopsis still leaves a space before its text.
        for line in help.lines().filter(|l| l.starts_with("  \\")) {
            assert!(line.len() > SYNOPSIS + 2, "{line}");
            assert!(line[..SYNOPSIS + 2].ends_with(' '), "{line}");
        }
    }
}
