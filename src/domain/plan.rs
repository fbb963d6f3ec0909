//! Plans, their seats and their monthly allowances: the one place these numbers live.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Plan {
    Free,
    Individual,
    Professional,
    Business,
}

/// A monthly allowance shared by every member of a workspace (calendar month, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub messages: i64,
    pub tokens: i64,
}

impl Plan {
    pub const ALL: [Plan; 4] = [Plan::Free, Plan::Individual, Plan::Professional, Plan::Business];

    /// Seats the plan allows, the owner's included; `None` means unlimited.
    pub fn seat_limit(self) -> Option<i64> {
        match self {
            Plan::Free | Plan::Individual => Some(1),
            Plan::Professional => Some(3),
            Plan::Business => None,
        }
    }

    pub fn allowance(self) -> Allowance {
        match self {
            Plan::Free => Allowance { messages: 100, tokens: 50_000 },
            Plan::Individual => Allowance { messages: 2_000, tokens: 1_000_000 },
            Plan::Professional => Allowance { messages: 10_000, tokens: 5_000_000 },
            Plan::Business => Allowance { messages: 50_000, tokens: 25_000_000 },
        }
    }

    /// "1 seat", "3 seats", "unlimited seats".
    pub fn seats_label(self) -> String {
        match self.seat_limit() {
            Some(1) => "1 seat".into(),
            Some(n) => format!("{n} seats"),
            None => "unlimited seats".into(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Individual => "individual",
            Plan::Professional => "professional",
            Plan::Business => "business",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Plan::Free => "Free",
            Plan::Individual => "Individual",
            Plan::Professional => "Professional",
            Plan::Business => "Business",
        }
    }

    pub fn parse(s: &str) -> Option<Plan> {
        match s.trim().to_ascii_lowercase().as_str() {
            "free" => Some(Plan::Free),
            "individual" => Some(Plan::Individual),
            "professional" | "pro" => Some(Plan::Professional),
            "business" => Some(Plan::Business),
            _ => None,
        }
    }

    /// The cheapest plan with room for `seats` seats.
    pub fn smallest_with_room_for(seats: i64) -> Plan {
        Plan::ALL.into_iter().find(|p| p.seat_limit().is_none_or(|limit| limit >= seats)).unwrap_or(Plan::Business)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Seats in use: active members (the owner included) plus pending, unexpired invitations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatUsage {
    pub plan: Plan,
    pub active: i64,
    pub pending: i64,
}

impl SeatUsage {
    pub fn used(&self) -> i64 {
        self.active + self.pending
    }

    /// Seats still free; `None` when the plan is unlimited.
    pub fn free(&self) -> Option<i64> {
        self.plan.seat_limit().map(|limit| (limit - self.used()).max(0))
    }

    pub fn has_room_for(&self, more: i64) -> bool {
        self.plan.seat_limit().is_none_or(|limit| self.used() + more <= limit)
    }

    pub fn is_full(&self) -> bool {
        !self.has_room_for(1)
    }

    /// The sentence at the top of My Users.
    pub fn summary(&self) -> String {
        match self.plan.seat_limit() {
            None => {
                let members = plural(self.active, "member", "members");
                if self.pending > 0 {
                    format!("{members} ({} pending) · unlimited seats", self.pending)
                } else {
                    format!("{members} · unlimited seats")
                }
            }
            Some(limit) => {
                let base = format!("{} of {} seats used", self.used(), limit);
                let base = if limit == 1 { base.replace("seats used", "seat used") } else { base };
                if self.pending > 0 {
                    format!("{base} ({} pending) · {}", self.pending, self.plan)
                } else {
                    format!("{base} · {}", self.plan)
                }
            }
        }
    }
}

/// What the seat line says beyond the count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatNotice {
    /// There is room for at least one more person.
    Room,
    /// A plan with room for a team is full: upgrade to `next`, or remove someone.
    Full { limit: i64, next: Plan },
    /// Free and Individual: one seat, the owner's; no room for teammates at all.
    Solo { plan: Plan },
}

impl SeatUsage {
    pub fn notice(&self) -> SeatNotice {
        match self.plan.seat_limit() {
            Some(1) => SeatNotice::Solo { plan: self.plan },
            Some(limit) if self.used() >= limit => {
                SeatNotice::Full { limit, next: Plan::smallest_with_room_for(self.used() + 1) }
            }
            _ => SeatNotice::Room,
        }
    }

    /// The sentence shown (and given as the reason an invitation is refused) when no seat is free.
    pub fn no_room_message(&self) -> Option<String> {
        match self.notice() {
            SeatNotice::Room => None,
            SeatNotice::Full { limit, next } => {
                Some(format!("All {limit} seats are in use. Upgrade to {next} or remove a member to invite someone."))
            }
            SeatNotice::Solo { plan } => Some(format!(
                "The {plan} plan has 1 seat, and it is yours. Upgrade to Professional (3 seats) or Business (unlimited seats) to invite teammates."
            )),
        }
    }

    /// How many people must go before `plan` fits; 0 when it already does.
    pub fn excess_for(&self, plan: Plan) -> i64 {
        plan.seat_limit().map_or(0, |limit| (self.used() - limit).max(0))
    }
}

/// "1 member", "5 members".
pub fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{} {many}", crate::domain::format_count(n)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seat_limits_match_the_help_page() {
        assert_eq!(Plan::Free.seat_limit(), Some(1));
        assert_eq!(Plan::Individual.seat_limit(), Some(1));
        assert_eq!(Plan::Professional.seat_limit(), Some(3));
        assert_eq!(Plan::Business.seat_limit(), None);
    }

    #[test]
    fn allowances_match_the_design() {
        assert_eq!(Plan::Free.allowance(), Allowance { messages: 100, tokens: 50_000 });
        assert_eq!(Plan::Business.allowance().tokens, 25_000_000);
    }

    #[test]
    fn summary_lines() {
        let s = SeatUsage { plan: Plan::Professional, active: 1, pending: 0 };
        assert_eq!(s.summary(), "1 of 3 seats used · Professional");
        let s = SeatUsage { plan: Plan::Professional, active: 1, pending: 1 };
        assert_eq!(s.summary(), "2 of 3 seats used (1 pending) · Professional");
        let s = SeatUsage { plan: Plan::Business, active: 5, pending: 0 };
        assert_eq!(s.summary(), "5 members · unlimited seats");
        let s = SeatUsage { plan: Plan::Free, active: 1, pending: 0 };
        assert_eq!(s.summary(), "1 of 1 seat used · Free");
    }

    #[test]
    fn room_and_fullness() {
        let s = SeatUsage { plan: Plan::Professional, active: 2, pending: 1 };
        assert!(s.is_full());
        assert_eq!(s.free(), Some(0));
        let s = SeatUsage { plan: Plan::Professional, active: 2, pending: 0 };
        assert!(s.has_room_for(1));
        assert!(!s.has_room_for(2));
        let s = SeatUsage { plan: Plan::Business, active: 500, pending: 50 };
        assert!(s.has_room_for(1000));
        assert_eq!(s.free(), None);
    }

    #[test]
    fn notices_when_full() {
        let s = SeatUsage { plan: Plan::Professional, active: 2, pending: 1 };
        assert_eq!(
            s.no_room_message().as_deref(),
            Some("All 3 seats are in use. Upgrade to Business or remove a member to invite someone.")
        );
        let s = SeatUsage { plan: Plan::Professional, active: 2, pending: 0 };
        assert_eq!(s.notice(), SeatNotice::Room);
        assert_eq!(s.no_room_message(), None);
        let s = SeatUsage { plan: Plan::Free, active: 1, pending: 0 };
        assert_eq!(s.notice(), SeatNotice::Solo { plan: Plan::Free });
        assert!(s.no_room_message().unwrap_or_default().contains("Upgrade to Professional (3 seats)"));
        let s = SeatUsage { plan: Plan::Business, active: 80, pending: 20 };
        assert_eq!(s.notice(), SeatNotice::Room);
    }

    #[test]
    fn downgrade_excess() {
        let s = SeatUsage { plan: Plan::Business, active: 4, pending: 1 };
        assert_eq!(s.excess_for(Plan::Professional), 2);
        assert_eq!(s.excess_for(Plan::Free), 4);
        assert_eq!(s.excess_for(Plan::Business), 0);
        let s = SeatUsage { plan: Plan::Business, active: 1, pending: 0 };
        assert_eq!(s.excess_for(Plan::Free), 0);
    }

    #[test]
    fn parse_and_smallest_plan() {
        assert_eq!(Plan::parse(" Professional "), Some(Plan::Professional));
        assert_eq!(Plan::parse("gold"), None);
        assert_eq!(Plan::smallest_with_room_for(1), Plan::Free);
        assert_eq!(Plan::smallest_with_room_for(2), Plan::Professional);
        assert_eq!(Plan::smallest_with_room_for(4), Plan::Business);
    }
}
