//! Workspace roles and what each may do. Support staff is an account flag, never a role.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Member => "Member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    /// Owner and admins manage members, invitations and projects.
    pub fn can_manage_members(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Only the owner changes the plan or transfers ownership.
    pub fn can_change_plan(self) -> bool {
        self == Role::Owner
    }

    /// Which role an actor may give to an invitee: the owner invites admins and members, admins
    /// invite members only.
    pub fn can_invite_as(self, role: Role) -> bool {
        match self {
            Role::Owner => matches!(role, Role::Admin | Role::Member),
            Role::Admin => role == Role::Member,
            Role::Member => false,
        }
    }

    /// Whether an actor may remove (or change the role of) someone holding `target`: the owner
    /// anyone but themself (checked by the caller), admins only members.
    pub fn can_remove(self, target: Role) -> bool {
        match self {
            Role::Owner => target != Role::Owner,
            Role::Admin => target == Role::Member,
            Role::Member => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_may_invite_whom() {
        assert!(Role::Owner.can_invite_as(Role::Admin));
        assert!(Role::Owner.can_invite_as(Role::Member));
        assert!(!Role::Owner.can_invite_as(Role::Owner));
        assert!(Role::Admin.can_invite_as(Role::Member));
        assert!(!Role::Admin.can_invite_as(Role::Admin));
        assert!(!Role::Member.can_invite_as(Role::Member));
    }

    #[test]
    fn who_may_remove_whom() {
        assert!(Role::Owner.can_remove(Role::Admin));
        assert!(Role::Owner.can_remove(Role::Member));
        assert!(!Role::Owner.can_remove(Role::Owner));
        assert!(Role::Admin.can_remove(Role::Member));
        assert!(!Role::Admin.can_remove(Role::Admin));
        assert!(!Role::Admin.can_remove(Role::Owner));
        assert!(!Role::Member.can_remove(Role::Member));
    }

    #[test]
    fn parse_round_trips() {
        for r in [Role::Owner, Role::Admin, Role::Member] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("superuser"), None);
    }
}

/// What a member may do in a project. Owner and admins always have edit access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    View,
    Edit,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::View => "view",
            Access::Edit => "edit",
        }
    }

    pub fn parse(s: &str) -> Option<Access> {
        match s.trim().to_ascii_lowercase().as_str() {
            "view" => Some(Access::View),
            "edit" => Some(Access::Edit),
            _ => None,
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
