//! Per user and room send limits: a minimum gap between messages, a cap per sliding window, and
//! identical repeats refused as spam.
//!
//! A sliding log of send times, not a token bucket: RULES.md says "at most 20 per 5 minutes",
//! and a bucket refilling at 20/5 min would let 40 through in a 5-minute span after a burst.

use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendRule {
    /// Minimum time between two messages, ms (3,000).
    pub min_gap_ms: u64,
    /// The sliding window, ms (300,000).
    pub window_ms: u64,
    /// Messages allowed in any window (20).
    pub max_in_window: usize,
    /// An identical text within this long of the previous one is spam, ms.
    pub repeat_window_ms: u64,
}

impl Default for SendRule {
    fn default() -> Self {
        Self {
            min_gap_ms: 3_000,
            window_ms: 300_000,
            max_in_window: 20,
            repeat_window_ms: 60_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendRefusal {
    /// Too soon; the message would be accepted after this many ms.
    RateLimited { retry_ms: u64 },
    /// The same text as the previous message.
    Spam,
}

/// What one user has recently sent to one room.
#[derive(Clone, Debug, Default)]
pub struct SendWindow {
    sent_at: VecDeque<u64>,
    last_text: Option<u64>,
}

impl SendWindow {
    /// Decides whether a message with this text fingerprint may go out at `now_ms`. Nothing is
    /// recorded: a message refused later (filter, store down) must not use up the allowance.
    pub fn check(
        &self,
        rule: &SendRule,
        now_ms: u64,
        text_fingerprint: u64,
    ) -> Result<(), SendRefusal> {
        if let Some(&last) = self.sent_at.back() {
            let since = now_ms.saturating_sub(last);
            if since < rule.min_gap_ms {
                return Err(SendRefusal::RateLimited {
                    retry_ms: rule.min_gap_ms - since,
                });
            }
            if self.last_text == Some(text_fingerprint) && since < rule.repeat_window_ms {
                return Err(SendRefusal::Spam);
            }
        }
        let in_window: Vec<u64> = self
            .sent_at
            .iter()
            .copied()
            .filter(|&t| now_ms.saturating_sub(t) < rule.window_ms)
            .collect();
        if rule.max_in_window == 0 {
            return Err(SendRefusal::RateLimited {
                retry_ms: rule.window_ms,
            });
        }
        if in_window.len() >= rule.max_in_window {
            // The window frees a slot when the oldest send that still counts leaves it.
            let oldest = in_window[in_window.len() - rule.max_in_window];
            return Err(SendRefusal::RateLimited {
                retry_ms: oldest + rule.window_ms - now_ms,
            });
        }
        Ok(())
    }

    /// Records an accepted message, forgetting sends that no longer count.
    pub fn record(&mut self, rule: &SendRule, now_ms: u64, text_fingerprint: u64) {
        while self
            .sent_at
            .front()
            .is_some_and(|&t| now_ms.saturating_sub(t) >= rule.window_ms)
        {
            self.sent_at.pop_front();
        }
        while self.sent_at.len() >= rule.max_in_window.max(1) {
            self.sent_at.pop_front();
        }
        self.sent_at.push_back(now_ms);
        self.last_text = Some(text_fingerprint);
    }

    /// Takes back a send recorded at `now_ms` that did not go out (the store was down), so a
    /// retry is neither rate limited nor taken for a repeat.
    pub fn unrecord(&mut self, now_ms: u64) {
        if let Some(i) = self.sent_at.iter().rposition(|&t| t == now_ms) {
            self.sent_at.remove(i);
            self.last_text = None;
        }
    }

    /// Whether this window has nothing left to remember at `now_ms` (so its entry can go).
    pub fn is_idle(&self, rule: &SendRule, now_ms: u64) -> bool {
        self.sent_at
            .back()
            .is_none_or(|&t| now_ms.saturating_sub(t) >= rule.window_ms.max(rule.repeat_window_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000;

    fn send(w: &mut SendWindow, rule: &SendRule, t: u64, text: u64) -> Result<(), SendRefusal> {
        w.check(rule, t, text)?;
        w.record(rule, t, text);
        Ok(())
    }

    #[test]
    fn one_message_per_three_seconds() {
        let rule = SendRule::default();
        let mut w = SendWindow::default();
        assert_eq!(send(&mut w, &rule, 0, 1), Ok(()));
        assert_eq!(
            send(&mut w, &rule, 1_000, 2),
            Err(SendRefusal::RateLimited { retry_ms: 2_000 })
        );
        assert_eq!(
            send(&mut w, &rule, 2_999, 2),
            Err(SendRefusal::RateLimited { retry_ms: 1 })
        );
        assert_eq!(send(&mut w, &rule, 3_000, 2), Ok(()));
    }

    #[test]
    fn twenty_per_five_minutes_sliding() {
        let rule = SendRule::default();
        let mut w = SendWindow::default();
        // 20 messages, one every 3 s: all accepted, the last at 57 s.
        for i in 0..20 {
            assert_eq!(send(&mut w, &rule, i * 3 * SEC, i), Ok(()), "message {i}");
        }
        // The 21st is refused until the first one (at 0 s) leaves the window at 300 s.
        assert_eq!(
            send(&mut w, &rule, 60 * SEC, 99),
            Err(SendRefusal::RateLimited {
                retry_ms: 240 * SEC
            })
        );
        assert_eq!(
            send(&mut w, &rule, 299_999, 99),
            Err(SendRefusal::RateLimited { retry_ms: 1 })
        );
        assert_eq!(send(&mut w, &rule, 300 * SEC, 99), Ok(()));
        // The next slot opens when the message sent at 3 s leaves.
        assert_eq!(
            send(&mut w, &rule, 303 * SEC - 1, 100),
            Err(SendRefusal::RateLimited { retry_ms: 1 })
        );
        assert_eq!(send(&mut w, &rule, 303 * SEC, 100), Ok(()));
    }

    #[test]
    fn no_span_of_five_minutes_holds_more_than_twenty() {
        let rule = SendRule::default();
        let mut w = SendWindow::default();
        let mut accepted = Vec::new();
        // Try every second for 20 minutes.
        for t in (0..1_200).map(|s| s * SEC) {
            if send(&mut w, &rule, t, t).is_ok() {
                accepted.push(t);
            }
        }
        for (i, &start) in accepted.iter().enumerate() {
            let in_span = accepted[i..]
                .iter()
                .take_while(|&&t| t < start + rule.window_ms)
                .count();
            assert!(
                in_span <= 20,
                "{in_span} messages in the 5 minutes from {start}"
            );
        }
        assert!(
            accepted.len() >= 80,
            "the limit must still let a steady sender through"
        );
    }

    #[test]
    fn identical_repeat_is_spam() {
        let rule = SendRule::default();
        let mut w = SendWindow::default();
        assert_eq!(send(&mut w, &rule, 0, 7), Ok(()));
        assert_eq!(send(&mut w, &rule, 5 * SEC, 7), Err(SendRefusal::Spam));
        assert_eq!(send(&mut w, &rule, 5 * SEC, 8), Ok(()));
        // The same text again is fine once it is not the previous message...
        assert_eq!(send(&mut w, &rule, 10 * SEC, 7), Ok(()));
        // ...or once the repeat window has passed.
        assert_eq!(send(&mut w, &rule, 71 * SEC, 7), Ok(()));
    }

    #[test]
    fn refused_messages_use_no_allowance() {
        let rule = SendRule::default();
        let mut w = SendWindow::default();
        assert_eq!(send(&mut w, &rule, 0, 1), Ok(()));
        assert!(w.check(&rule, 1_000, 2).is_err());
        assert_eq!(send(&mut w, &rule, 3_000, 2), Ok(()));
    }

    #[test]
    fn an_unrecorded_send_frees_its_slot() {
        let rule = SendRule::default();
        let mut w = SendWindow::default();
        assert_eq!(send(&mut w, &rule, 0, 1), Ok(()));
        w.unrecord(0);
        assert_eq!(
            send(&mut w, &rule, 1, 1),
            Ok(()),
            "neither rate limited nor spam"
        );
    }

    #[test]
    fn idle_after_the_window() {
        let rule = SendRule::default();
        let mut w = SendWindow::default();
        assert!(w.is_idle(&rule, 0));
        w.record(&rule, 0, 1);
        assert!(!w.is_idle(&rule, 299 * SEC));
        assert!(w.is_idle(&rule, 300 * SEC));
    }
}
