//! Reports (RULES.md § Moderation, seed 003 §7.3, seed 004 §6.9.1): what a user can be reported
//! for, how urgently a moderator should look, and the life of a report from pending to closed.
//!
//! Categories are seed 003's five plus KROG's additions, plus `threats`: seed 003 files threats
//! under harassment but punishes them apart ("threats/doxxing: instant 30-day ban"), so the
//! ladder needs to tell them from ordinary harassment.

/// Longest report description, in characters.
pub const MAX_REPORT_TEXT: usize = 1000;

/// The context window of a message report: this many messages before and after it.
///
/// Counted in messages of the same room, not by id: ids come from one sequence shared by all
/// rooms, so the store fetches the neighbours with an ordered `LIMIT` on each side.
pub const CONTEXT_LINES: u32 = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Harassment,
    Spam,
    Cheating,
    Scamming,
    InappropriateContent,
    HateSpeech,
    Impersonation,
    Sandbagging,
    Stalling,
    Threats,
    Other,
}

impl Category {
    pub const ALL: [Category; 11] = [
        Category::Harassment,
        Category::Spam,
        Category::Cheating,
        Category::Scamming,
        Category::InappropriateContent,
        Category::HateSpeech,
        Category::Impersonation,
        Category::Sandbagging,
        Category::Stalling,
        Category::Threats,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Harassment => "harassment",
            Category::Spam => "spam",
            Category::Cheating => "cheating",
            Category::Scamming => "scamming",
            Category::InappropriateContent => "inappropriate_content",
            Category::HateSpeech => "hate_speech",
            Category::Impersonation => "impersonation",
            Category::Sandbagging => "sandbagging",
            Category::Stalling => "stalling",
            Category::Threats => "threats",
            Category::Other => "other",
        }
    }

    /// The snake_case name; also `doxxing`, which RULES.md puts with threats.
    pub fn parse(s: &str) -> Option<Self> {
        if s == "doxxing" {
            return Some(Category::Threats);
        }
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The categories that jump the penalty ladder and go to the head of the review queue.
    pub fn is_severe(self) -> bool {
        matches!(self, Category::HateSpeech | Category::Threats)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Low,
    Medium,
    High,
    Critical,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Low, Self::Medium, Self::High, Self::Critical]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    /// Low 0 .. Critical 3, stored next to the name so the queue can `ORDER BY` it.
    pub fn rank(self) -> i64 {
        match self {
            Priority::Low => 0,
            Priority::Medium => 1,
            Priority::High => 2,
            Priority::Critical => 3,
        }
    }
}

/// A report's priority given how many open reports (including this one) target the same user:
/// severe categories are Critical; else 5+ High, 2+ Medium, 1 Low.
///
/// Many users reporting the same person is the signal a rule-based queue has in place of seed
/// 003's "AI escalation"; 0 (a caller that forgot to count this report) is taken as 1.
pub fn priority(category: Category, open_against_user: u32) -> Priority {
    if category.is_severe() {
        return Priority::Critical;
    }
    match open_against_user {
        5.. => Priority::High,
        2.. => Priority::Medium,
        _ => Priority::Low,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportStatus {
    Pending,
    Reviewing,
    Resolved,
    Dismissed,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Pending => "pending",
            ReportStatus::Reviewing => "reviewing",
            ReportStatus::Resolved => "resolved",
            ReportStatus::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Reviewing,
            Self::Resolved,
            Self::Dismissed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Still waiting for a decision (counted by [`priority`], shown in the queue).
    pub fn is_open(self) -> bool {
        matches!(self, ReportStatus::Pending | ReportStatus::Reviewing)
    }
}

/// Allowed status moves: pending→reviewing (claim), pending|reviewing→resolved|dismissed; a
/// closed report never reopens.
///
/// Staying put is not a move: a second moderator claiming a report already under review is
/// refused, so two people do not work the same case. A report is never handed back to pending
/// either; a moderator who drops a case resolves or dismisses it with a note.
pub fn may_move(from: ReportStatus, to: ReportStatus) -> bool {
    use ReportStatus::*;
    matches!(
        (from, to),
        (Pending, Reviewing) | (Pending | Reviewing, Resolved | Dismissed)
    )
}

/// Whether a report description fits: at most [`MAX_REPORT_TEXT`] characters (not bytes, so
/// non-Latin scripts get the same room).
pub fn text_ok(text: &str) -> bool {
    text.chars().count() <= MAX_REPORT_TEXT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories() {
        // (category, name, severe)
        let table = [
            (Category::Harassment, "harassment", false),
            (Category::Spam, "spam", false),
            (Category::Cheating, "cheating", false),
            (Category::Scamming, "scamming", false),
            (
                Category::InappropriateContent,
                "inappropriate_content",
                false,
            ),
            (Category::HateSpeech, "hate_speech", true),
            (Category::Impersonation, "impersonation", false),
            (Category::Sandbagging, "sandbagging", false),
            (Category::Stalling, "stalling", false),
            (Category::Threats, "threats", true),
            (Category::Other, "other", false),
        ];
        assert_eq!(table.len(), Category::ALL.len());
        for (i, (category, name, severe)) in table.into_iter().enumerate() {
            assert_eq!(Category::ALL[i], category);
            assert_eq!(category.as_str(), name);
            assert_eq!(Category::parse(name), Some(category));
            assert_eq!(category.is_severe(), severe, "{name}");
        }
        assert_eq!(Category::parse("doxxing"), Some(Category::Threats));
        assert_eq!(Category::parse("Spam"), None);
        assert_eq!(Category::parse("hate speech"), None);
        assert_eq!(Category::parse(""), None);
    }

    #[test]
    fn priorities() {
        // (category, open reports against the user, priority)
        let table = [
            (Category::Spam, 0, Priority::Low),
            (Category::Spam, 1, Priority::Low),
            (Category::Spam, 2, Priority::Medium),
            (Category::Cheating, 4, Priority::Medium),
            (Category::Harassment, 5, Priority::High),
            (Category::Other, 100, Priority::High),
            (Category::HateSpeech, 1, Priority::Critical),
            (Category::Threats, 1, Priority::Critical),
            (Category::Threats, 0, Priority::Critical),
            (Category::HateSpeech, 9, Priority::Critical),
        ];
        for (category, open, expect) in table {
            assert_eq!(
                priority(category, open),
                expect,
                "{} with {open} open",
                category.as_str()
            );
        }
    }

    #[test]
    fn priority_names_and_order() {
        let table = [
            (Priority::Low, "low", 0),
            (Priority::Medium, "medium", 1),
            (Priority::High, "high", 2),
            (Priority::Critical, "critical", 3),
        ];
        for (p, name, rank) in table {
            assert_eq!(p.as_str(), name);
            assert_eq!(Priority::parse(name), Some(p));
            assert_eq!(p.rank(), rank);
        }
        assert!(Priority::Low < Priority::Medium);
        assert!(Priority::High < Priority::Critical);
        assert_eq!(Priority::parse("urgent"), None);
    }

    #[test]
    fn statuses() {
        // (status, name, open)
        let table = [
            (ReportStatus::Pending, "pending", true),
            (ReportStatus::Reviewing, "reviewing", true),
            (ReportStatus::Resolved, "resolved", false),
            (ReportStatus::Dismissed, "dismissed", false),
        ];
        for (status, name, open) in table {
            assert_eq!(status.as_str(), name);
            assert_eq!(ReportStatus::parse(name), Some(status));
            assert_eq!(status.is_open(), open, "{name}");
        }
        assert_eq!(ReportStatus::parse("closed"), None);
    }

    #[test]
    fn status_moves() {
        use ReportStatus::*;
        let all = [Pending, Reviewing, Resolved, Dismissed];
        // Every pair; only these are allowed.
        let allowed = [
            (Pending, Reviewing),
            (Pending, Resolved),
            (Pending, Dismissed),
            (Reviewing, Resolved),
            (Reviewing, Dismissed),
        ];
        for from in all {
            for to in all {
                assert_eq!(
                    may_move(from, to),
                    allowed.contains(&(from, to)),
                    "{} -> {}",
                    from.as_str(),
                    to.as_str()
                );
            }
        }
        // Closed reports never reopen.
        for to in all {
            assert!(!may_move(Resolved, to));
            assert!(!may_move(Dismissed, to));
        }
    }

    #[test]
    fn report_text_limits() {
        assert_eq!(MAX_REPORT_TEXT, 1000);
        assert_eq!(CONTEXT_LINES, 20);
        let table = [
            (String::new(), true),
            ("a".repeat(1000), true),
            ("a".repeat(1001), false),
            // 1000 characters of 3 bytes each still fit.
            ("語".repeat(1000), true),
            ("語".repeat(1001), false),
        ];
        for (text, ok) in table {
            assert_eq!(text_ok(&text), ok, "{} chars", text.chars().count());
        }
    }
}
