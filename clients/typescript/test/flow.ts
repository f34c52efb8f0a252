/**
 * The client against a running service: the app's main flow (mint a member token, read
 * /v1/me, list rewards, redeem one, read the leaderboard rank) and the checkout's (post a
 * purchase, post it again: a replay, refund part of it). Prints what it saw as one JSON line;
 * exits 1 on the first thing that is not as expected.
 *
 *   LOYALTY_URL=http://127.0.0.1:8000 LOYALTY_KEY=lk_... node dist/test/flow.js
 */
import { createLoyalty, createLoyaltyClient, LoyaltyError, unwrap } from "../src/index.js";

function expect(ok: boolean, what: string): void {
  if (!ok) throw new Error(`not as expected: ${what}`);
}

async function main(): Promise<void> {
  const baseUrl = process.env.LOYALTY_URL ?? "";
  const key = process.env.LOYALTY_KEY ?? "";
  const member = process.env.LOYALTY_MEMBER ?? "ts-ann";
  const now = process.env.LOYALTY_NOW ?? new Date().toISOString();
  const server = createLoyalty({ baseUrl, token: key });

  // a server grants welcome points and mints the member's token
  await unwrap(
    server.postAdjustment({
      body: { member_id: member, points: 1000, reason: "welcome to the app" },
    }),
  );
  // ... and books the member's purchase in the shop (points on this week's board)
  await unwrap(
    server.postEvent({
      body: {
        id: `${member}-p0`,
        type: "purchase",
        member_id: member,
        occurred_at: now,
        attributes: { order_id: `${member}-o0`, amount: "10.00", currency: "EUR" },
      },
    }),
  );
  const issued = await unwrap(
    server.mintMemberToken({ params: { path: { member_id: member } } }),
  );

  // the member's app
  const app = createLoyalty({ baseUrl, token: issued.token });
  const me = await unwrap(app.getMe());
  expect(me.member_id === member && me.balances.available === 1000, "balance after the grant");
  const catalog = await unwrap(app.listRewards());
  const reward = catalog.rewards.find((r) => r.id === "free-shipping");
  expect(reward !== undefined, "free-shipping in the catalog");
  const redeemed = await unwrap(
    app.redeem({
      params: { path: { member_id: member }, header: { "Idempotency-Key": `${member}-r1` } },
      body: { reward_id: "free-shipping", hold: false },
    }),
  );
  expect(redeemed.status === "committed" && redeemed.points === reward!.cost, "redeemed");
  const standing = await unwrap(
    app.getMyStanding({ params: { path: { board: "weekly-points" } } }),
  );
  const boards = await unwrap(app.listBoards());
  try {
    await unwrap(
      // the same call by path, through openapi-fetch's client itself
      createLoyaltyClient({ baseUrl, token: issued.token }).GET("/v1/members/{member_id}", {
        params: { path: { member_id: "someone-else" } },
      }),
    );
    expect(false, "another member's profile is refused");
  } catch (error) {
    expect(error instanceof LoyaltyError && error.status === 403, "403 for another member");
  }

  // the checkout: a purchase, its retry (a replay), a partial refund
  const buyer = `${member}-buyer`;
  const order = `${member}-o1`;
  const purchase = {
    id: `${member}-p1`,
    type: "purchase",
    member_id: buyer,
    occurred_at: now,
    attributes: { order_id: order, amount: "80.00", currency: "EUR" },
  };
  const first = await unwrap(server.postEvent({ body: purchase }));
  const again = await unwrap(server.postEvent({ body: purchase }));
  expect(first.earned > 0 && !first.replay, "the purchase earned points");
  expect(again.replay && again.earned === first.earned, "the retry is a replay");
  const refunded = await unwrap(
    server.postEvent({
      body: {
        id: `${member}-f1`,
        type: "refund",
        member_id: buyer,
        occurred_at: now,
        attributes: { order_id: order, amount: "20.00" },
      },
    }),
  );
  expect(refunded.reversed === first.earned / 4, "a quarter refunded, a quarter reversed");
  try {
    await unwrap(server.postEvent({ body: { ...purchase, id: "" } }));
    expect(false, "an empty event id is refused");
  } catch (error) {
    expect(error instanceof LoyaltyError && error.status === 400, "400 for a bad event");
  }

  console.log(
    JSON.stringify({
      member: me.member_id,
      available: me.balances.available,
      rewards: catalog.rewards.length,
      redemption: redeemed.id,
      after_redeem: redeemed.balances.available,
      rank: standing.rank,
      boards: boards.leaderboards.length,
      earned: first.earned,
      replay: again.replay,
      reversed: refunded.reversed,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
