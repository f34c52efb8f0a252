// Generated from openapi/openapi.json by `python -m clients.generate`: do not edit.
import { wrapAsPathBasedClient } from "openapi-fetch";
import type { Client } from "openapi-fetch";

import type { paths } from "./schema.js";

/** Every operation of the API by its operation id, each typed as openapi-fetch types
 * its path: `ops.getMe()`, `ops.redeem({ params: { path, header }, body })`. */
export function operationsOf(client: Client<paths>) {
  const at = wrapAsPathBasedClient(client);
  return {
    /** `POST /v1/redemptions/{redemption_id}/cancel`: Cancel a hold: its points, stock and coupon code go back */
    cancelRedemption: at["/v1/redemptions/{redemption_id}/cancel"].POST,
    /** `POST /v1/redemptions/{redemption_id}/commit`: Commit a hold: spend the points it reserved */
    commitRedemption: at["/v1/redemptions/{redemption_id}/commit"].POST,
    /** `POST /v1/admin/keys`: Create an API key (its secret is answered once) */
    createKey: at["/v1/admin/keys"].POST,
    /** `POST /v1/admin/webhooks/endpoints`: Subscribe a URL to kinds of webhook; answers the signing secret once */
    createWebhookEndpoint: at["/v1/admin/webhooks/endpoints"].POST,
    /** `DELETE /v1/admin/webhooks/endpoints/{endpoint_id}`: Delete an endpoint and every delivery waiting for it */
    deleteWebhookEndpoint: at["/v1/admin/webhooks/endpoints/{endpoint_id}"].DELETE,
    /** `GET /v1/admin/rules/versions/{a}/diff/{b}`: How ruleset version b differs from version a: files, then rules */
    diffRuleVersions: at["/v1/admin/rules/versions/{a}/diff/{b}"].GET,
    /** `POST /v1/admin/rules/dry-run`: Evaluate one event under the active ruleset or a draft, without writing anything */
    dryRunRules: at["/v1/admin/rules/dry-run"].POST,
    /** `DELETE /v1/members/{member_id}`: Erase a member who asked to be forgotten */
    eraseMember: at["/v1/members/{member_id}"].DELETE,
    /** `GET /v1/admin/reports/active-members`: Active members per day, week and month (DAU, WAU, MAU) */
    getActiveMemberReport: at["/v1/admin/reports/active-members"].GET,
    /** `GET /v1/admin/rules/backtests/{backtest_id}`: A backtest: its progress, and its report once done */
    getBacktest: at["/v1/admin/rules/backtests/{backtest_id}"].GET,
    /** `GET /v1/leaderboards/{board}`: The top of a leaderboard */
    getBoard: at["/v1/leaderboards/{board}"].GET,
    /** `GET /v1/admin/reports/breakage`: Points expired over points earned per month, and the expiry scheduled ahead */
    getBreakageReport: at["/v1/admin/reports/breakage"].GET,
    /** `GET /v1/admin/reports/cohorts`: Weekly signup cohorts and their retention week by week */
    getCohortReport: at["/v1/admin/reports/cohorts"].GET,
    /** `GET /v1/admin/reports/engagement-levels`: Members per engagement level per day, now, and the level moves per month */
    getEngagementLevelReport: at["/v1/admin/reports/engagement-levels"].GET,
    /** `GET /v1/admin/experiments/{experiment_id}/members/{member_id}`: The arm a member is in (admins only; members never see it) */
    getExperimentArm: at["/v1/admin/experiments/{experiment_id}/members/{member_id}"].GET,
    /** `GET /v1/admin/experiments/{experiment_id}/report`: The lift of an experiment: each arm against the holdout, with 95% intervals */
    getExperimentReport: at["/v1/admin/experiments/{experiment_id}/report"].GET,
    /** `GET /v1/admin/reports/experiments`: Every experiment's exposures and points per arm */
    getExperimentSummaryReport: at["/v1/admin/reports/experiments"].GET,
    /** `GET /v1/admin/reports/liability`: Points owed now, their value, and when they expire by month */
    getLiabilityReport: at["/v1/admin/reports/liability"].GET,
    /** `GET /health/live`: The process is up */
    getLive: at["/health/live"].GET,
    /** `GET /v1/me`: The calling member's profile */
    getMe: at["/v1/me"].GET,
    /** `GET /v1/members/{member_id}`: A member's profile and summaries */
    getMember: at["/v1/members/{member_id}"].GET,
    /** `GET /v1/members/{member_id}/badges`: A member's badges, with dates and progress to the next level */
    getMemberBadges: at["/v1/members/{member_id}/badges"].GET,
    /** `GET /v1/members/{member_id}/catalog`: Every badge, running challenge and streak, with the member's progress */
    getMemberCatalog: at["/v1/members/{member_id}/catalog"].GET,
    /** `GET /v1/members/{member_id}/challenges`: A member's active challenges (progress, time left) and completed ones */
    getMemberChallenges: at["/v1/members/{member_id}/challenges"].GET,
    /** `GET /v1/members/{member_id}/events/{event_id}`: One of a member's events, with the answer it got (what it did) */
    getMemberEvent: at["/v1/members/{member_id}/events/{event_id}"].GET,
    /** `GET /v1/members/{member_id}/ledger`: A member's ledger, newest first, each entry with its explanation */
    getMemberLedger: at["/v1/members/{member_id}/ledger"].GET,
    /** `GET /v1/members/{member_id}/referral`: A member's referral code (made on first ask) and their referrals */
    getMemberReferral: at["/v1/members/{member_id}/referral"].GET,
    /** `GET /v1/leaderboards/{board}/members/{member_id}`: A member's rank, score, neighbours and gap to the next rank */
    getMemberStanding: at["/v1/leaderboards/{board}/members/{member_id}"].GET,
    /** `GET /metrics`: Prometheus metrics */
    getMetrics: at["/metrics"].GET,
    /** `GET /v1/me/badges`: The calling member's badges */
    getMyBadges: at["/v1/me/badges"].GET,
    /** `GET /v1/me/catalog`: Every badge, running challenge and streak, with the calling member's progress */
    getMyCatalog: at["/v1/me/catalog"].GET,
    /** `GET /v1/me/challenges`: The calling member's challenges */
    getMyChallenges: at["/v1/me/challenges"].GET,
    /** `GET /v1/me/ledger`: The calling member's ledger */
    getMyLedger: at["/v1/me/ledger"].GET,
    /** `GET /v1/me/referral`: The calling member's referral */
    getMyReferral: at["/v1/me/referral"].GET,
    /** `GET /v1/me/leaderboards/{board}`: The calling member's rank on a leaderboard */
    getMyStanding: at["/v1/me/leaderboards/{board}"].GET,
    /** `GET /v1/admin/reports/points`: Points earned, spent, expired and reversed per day; per rule and per reward */
    getPointsReport: at["/v1/admin/reports/points"].GET,
    /** `GET /v1/admin/reports/purchases`: Purchases and their average value per day and month, purchases per member */
    getPurchaseReport: at["/v1/admin/reports/purchases"].GET,
    /** `GET /health/ready`: The service can serve: the database answers and a ruleset is active */
    getReady: at["/health/ready"].GET,
    /** `GET /v1/redemptions/{redemption_id}`: One redemption by its id */
    getRedemption: at["/v1/redemptions/{redemption_id}"].GET,
    /** `GET /v1/admin/rules/versions/{version}`: One stored ruleset version with the text of its files */
    getRuleVersion: at["/v1/admin/rules/versions/{version}"].GET,
    /** `GET /v1/admin/rules`: The active ruleset: version, program, files and rules */
    getRules: at["/v1/admin/rules"].GET,
    /** `GET /v1/admin/reports/tiers`: Members per tier now, and the tier moves per month */
    getTierReport: at["/v1/admin/reports/tiers"].GET,
    /** `GET /v1/admin/reports/top-members`: The members holding the most available points */
    getTopMemberReport: at["/v1/admin/reports/top-members"].GET,
    /** `GET /v1/admin/webhooks/endpoints/{endpoint_id}`: One webhook endpoint */
    getWebhookEndpoint: at["/v1/admin/webhooks/endpoints/{endpoint_id}"].GET,
    /** `GET /v1/admin/audit`: The audit log: every admin action (who, what, when), newest first */
    listAuditLog: at["/v1/admin/audit"].GET,
    /** `GET /v1/leaderboards`: The program's leaderboards and their current periods */
    listBoards: at["/v1/leaderboards"].GET,
    /** `GET /v1/admin/keys`: Every API key: name, scopes, created, last used (never a secret) */
    listKeys: at["/v1/admin/keys"].GET,
    /** `GET /v1/members/{member_id}/redemptions`: A member's redemptions, newest first */
    listMemberRedemptions: at["/v1/members/{member_id}/redemptions"].GET,
    /** `GET /v1/me/redemptions`: The calling member's redemptions, newest first */
    listMyRedemptions: at["/v1/me/redemptions"].GET,
    /** `GET /v1/rewards`: The reward catalog: cost, stock left, per-member limit */
    listRewards: at["/v1/rewards"].GET,
    /** `GET /v1/admin/rules/versions`: Every stored ruleset version, newest first, and the history of activations */
    listRuleVersions: at["/v1/admin/rules/versions"].GET,
    /** `GET /v1/admin/webhooks/endpoints/{endpoint_id}/deliveries`: An endpoint's deliveries: status, attempts, last answer and when */
    listWebhookDeliveries: at["/v1/admin/webhooks/endpoints/{endpoint_id}/deliveries"].GET,
    /** `GET /v1/admin/webhooks/endpoints`: Every webhook endpoint, with its status (and why it was disabled) */
    listWebhookEndpoints: at["/v1/admin/webhooks/endpoints"].GET,
    /** `POST /v1/members/{member_id}/tokens`: Mint a short-lived member token for the member's app */
    mintMemberToken: at["/v1/members/{member_id}/tokens"].POST,
    /** `POST /v1/admin/webhooks/endpoints/{endpoint_id}/pause`: Pause an endpoint: messages are kept for it but not sent */
    pauseWebhookEndpoint: at["/v1/admin/webhooks/endpoints/{endpoint_id}/pause"].POST,
    /** `POST /v1/admin/adjustments`: Add or remove a member's points, with the reason why */
    postAdjustment: at["/v1/admin/adjustments"].POST,
    /** `POST /v1/events`: Post one event (purchase, refund, review, referral, signup, checkin, custom) */
    postEvent: at["/v1/events"].POST,
    /** `POST /v1/events/batch`: Post up to 1,000 events; a result per event */
    postEventBatch: at["/v1/events/batch"].POST,
    /** `POST /v1/admin/rules`: Publish a ruleset: checked, stored and activated on every replica */
    publishRules: at["/v1/admin/rules"].POST,
    /** `PUT /v1/members/{member_id}`: Create or update a member's profile */
    putMember: at["/v1/members/{member_id}"].PUT,
    /** `POST /v1/members/{member_id}/redemptions`: Redeem points on a reward or at checkout, at once or as a hold */
    redeem: at["/v1/members/{member_id}/redemptions"].POST,
    /** `POST /v1/admin/webhooks/endpoints/{endpoint_id}/dead-letters/redeliver`: Send every dead letter of an endpoint again */
    redeliverWebhookDeadLetters: at["/v1/admin/webhooks/endpoints/{endpoint_id}/dead-letters/redeliver"].POST,
    /** `POST /v1/admin/webhooks/endpoints/{endpoint_id}/deliveries/{message_id}/redeliver`: Send one dead letter again */
    redeliverWebhookDelivery: at["/v1/admin/webhooks/endpoints/{endpoint_id}/deliveries/{message_id}/redeliver"].POST,
    /** `POST /v1/admin/webhooks/endpoints/{endpoint_id}/resume`: Resume a paused endpoint, or re-enable one the service disabled */
    resumeWebhookEndpoint: at["/v1/admin/webhooks/endpoints/{endpoint_id}/resume"].POST,
    /** `DELETE /v1/admin/keys/{key_id}`: Revoke an API key */
    revokeKey: at["/v1/admin/keys/{key_id}"].DELETE,
    /** `POST /v1/admin/rules/versions/{version}/rollback`: Roll back: publish a stored version's files again, on every replica */
    rollBackRules: at["/v1/admin/rules/versions/{version}/rollback"].POST,
    /** `POST /v1/admin/webhooks/endpoints/{endpoint_id}/secret`: Rotate the signing secret; the old one keeps signing for an overlap */
    rotateWebhookSecret: at["/v1/admin/webhooks/endpoints/{endpoint_id}/secret"].POST,
    /** `GET /v1/members`: Search members: id prefix, name, attribute, tier, engagement, last active */
    searchMembers: at["/v1/members"].GET,
    /** `POST /v1/admin/rules/backtests`: Start a backtest: the draft replayed over a stored period beside the booked rules */
    startBacktest: at["/v1/admin/rules/backtests"].POST,
    /** `PATCH /v1/admin/webhooks/endpoints/{endpoint_id}`: Change an endpoint's URL, kinds, description or timing */
    updateWebhookEndpoint: at["/v1/admin/webhooks/endpoints/{endpoint_id}"].PATCH,
  };
}

export type Operations = ReturnType<typeof operationsOf>;
