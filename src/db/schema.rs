//! The database schema, written by hand with types both backends share (see docs/ARCHITECTURE.md).
//! Keep it in step with `migrations/sqlite` and `migrations/postgres`.

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        is_staff -> Bool,
        session_epoch -> BigInt,
        created_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    workspaces (id) {
        id -> BigInt,
        slug -> Text,
        name -> Text,
        plan -> Text,
        lock_version -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    memberships (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        user_id -> BigInt,
        role -> Text,
        created_at -> Timestamp,
        last_active_at -> Nullable<Timestamp>,
        monthly_message_cap -> Nullable<BigInt>,
        monthly_token_cap -> Nullable<BigInt>,
    }
}

diesel::table! {
    projects (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    project_members (project_id, membership_id) {
        project_id -> BigInt,
        membership_id -> BigInt,
        access -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    invitations (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        email -> Text,
        role -> Text,
        status -> Text,
        token_hash -> Text,
        invited_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_sent_at -> Timestamp,
        send_count -> Integer,
        accepted_at -> Nullable<Timestamp>,
        accepted_user_id -> Nullable<BigInt>,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    invitation_projects (invitation_id, project_id) {
        invitation_id -> BigInt,
        project_id -> BigInt,
        access -> Text,
    }
}

diesel::table! {
    invitation_retired_tokens (token_hash) {
        token_hash -> Text,
        invitation_id -> BigInt,
        retired_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        name -> Text,
        key_prefix -> Text,
        key_hash -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    usage_events (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        user_id -> BigInt,
        project_id -> Nullable<BigInt>,
        kind -> Text,
        messages -> BigInt,
        tokens -> BigInt,
        occurred_at -> Timestamp,
        idempotency_key -> Text,
        api_key_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    usage_monthly (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        month -> Date,
        user_id -> BigInt,
        project_id -> Nullable<BigInt>,
        messages -> BigInt,
        tokens -> BigInt,
        agent_runs -> BigInt,
        automations -> BigInt,
    }
}

diesel::table! {
    usage_daily (workspace_id, day) {
        workspace_id -> BigInt,
        day -> Date,
        messages -> BigInt,
        tokens -> BigInt,
    }
}

diesel::table! {
    usage_alerts (workspace_id, month, threshold) {
        workspace_id -> BigInt,
        month -> Date,
        threshold -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        workspace_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        action -> Text,
        actor_user_id -> Nullable<BigInt>,
        actor_name -> Text,
        actor_email -> Text,
        actor_kind -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        target_type -> Nullable<Text>,
        target_id -> Nullable<BigInt>,
        target_label -> Nullable<Text>,
        target_email -> Nullable<Text>,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_retention (id) {
        id -> BigInt,
        workspace_id -> Nullable<BigInt>,
        cutoff_id -> BigInt,
        anchor_hash -> Text,
        cutoff_at -> Timestamp,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    email_outbox (id) {
        id -> BigInt,
        workspace_id -> Nullable<BigInt>,
        invitation_id -> Nullable<BigInt>,
        kind -> Text,
        to_email -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    setup_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        email -> Text,
        ip -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(memberships -> workspaces (workspace_id));
diesel::joinable!(projects -> workspaces (workspace_id));
diesel::joinable!(project_members -> projects (project_id));
diesel::joinable!(project_members -> memberships (membership_id));
diesel::joinable!(invitations -> workspaces (workspace_id));
diesel::joinable!(invitation_retired_tokens -> invitations (invitation_id));
diesel::joinable!(invitation_projects -> invitations (invitation_id));
diesel::joinable!(invitation_projects -> projects (project_id));
diesel::joinable!(api_keys -> workspaces (workspace_id));
diesel::joinable!(email_outbox -> invitations (invitation_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    workspaces,
    memberships,
    projects,
    project_members,
    invitations,
    invitation_projects,
    invitation_retired_tokens,
    api_keys,
    usage_events,
    usage_monthly,
    usage_daily,
    usage_alerts,
    audit_events,
    audit_retention,
    email_outbox,
    setup_tokens,
    login_failures,
);
