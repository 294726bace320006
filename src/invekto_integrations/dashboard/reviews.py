"""Reviews recovered: customer reviews, the follow-up of negative ones, and the panel.

`ingest_reviews` takes reviews as the platform shows them now (the review-recovery feature feeds
it): a new review is recorded (negative when its rating is at or below ``negative_at_most``); a
known negative one that was followed up gets its outcome from what the platform shows: removed,
a higher rating (improved), or the same/lower rating (unchanged).

Recovery rate = (improved + removed) ÷ followed up. The effect on the average rating compares the
mean of the ratings as written with the mean of the ratings now (removed reviews drop out).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from invekto_integrations.core.clock import Clock
from invekto_integrations.core.errors import InvalidArgument
from invekto_integrations.core.ids import new_id
from invekto_integrations.storage.dashboard_protocols import ReviewCaseRepository
from invekto_integrations.storage.dashboard_records import ReviewCase, ReviewOutcome

from ._base import Chart, Kpi, L, Panel, Rate, Series, Table, mean
from ._format import fmt_decimal
from ._period import ReportPeriod

__all__ = ["ReviewInput", "ReviewsPanel", "ReviewsRow", "ingest_reviews", "record_follow_up",
           "record_review_outcome", "reviews_panel"]


class ReviewInput(BaseModel):
    """A review as a platform shows it now."""

    model_config = ConfigDict(frozen=True)

    platform: str
    review_id: str
    rating: int = Field(ge=1, le=5)
    reviewed_at: datetime
    product_id: str | None = None
    customer_phone: str | None = None
    removed: bool = False  # the platform no longer shows it

    @field_validator("reviewed_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("reviewed_at is naive: give a timezone-aware value")
        return v


def ingest_reviews(repo: ReviewCaseRepository, tenant_id: str, reviews: Iterable[ReviewInput], *, clock: Clock,
                   negative_at_most: int = 2) -> list[ReviewCase]:
    """Record reviews and the outcome of followed-up negative ones; returns the cases created or changed."""
    if not 1 <= negative_at_most < 5:
        raise InvalidArgument("negative_at_most must be 1..4", field="negative_at_most")
    now = clock.now()
    changed: list[ReviewCase] = []
    for review in reviews:
        found = repo.get(tenant_id, review.platform, review.review_id)
        if found is None:
            case = ReviewCase(
                id=new_id(), tenant_id=tenant_id, platform=review.platform, review_id=review.review_id,
                product_id=review.product_id, customer_phone=review.customer_phone, rating_before=review.rating,
                negative=review.rating <= negative_at_most, reviewed_at=review.reviewed_at, created_at=now,
                updated_at=now,
            )
            if repo.add(tenant_id, case):
                changed.append(case)
            continue
        update: dict[str, object] = {}
        if review.rating != (found.rating_after or found.rating_before) and not review.removed:
            update["rating_after"] = review.rating
        if found.negative and found.followed_up_at is not None:
            after = review.rating if not review.removed else None
            if review.removed:
                outcome = ReviewOutcome.REMOVED
            elif after is not None and after > found.rating_before:
                outcome = ReviewOutcome.IMPROVED
            else:
                outcome = ReviewOutcome.UNCHANGED
            if outcome is not found.outcome and (outcome is not ReviewOutcome.UNCHANGED or update):
                update.update(outcome=outcome, outcome_at=now)
        elif review.removed and found.outcome is not ReviewOutcome.REMOVED:
            update.update(outcome=ReviewOutcome.REMOVED, outcome_at=now)
        if update:
            case = ReviewCase.model_validate({**found.model_dump(), **update, "updated_at": now})
            repo.save(tenant_id, case)
            changed.append(case)
    return changed


def record_follow_up(repo: ReviewCaseRepository, tenant_id: str, platform: str, review_id: str, *,
                     at: datetime) -> ReviewCase:
    """The seller followed a negative review up (the first time is kept)."""
    found = repo.get(tenant_id, platform, review_id)
    if found is None:
        raise InvalidArgument(f"no review {review_id}", provider=platform, field="review_id", record=review_id)
    if at.tzinfo is None:
        raise InvalidArgument("follow-up time is naive", provider=platform, field="at", record=review_id)
    case = ReviewCase.model_validate({**found.model_dump(), "followed_up_at": found.followed_up_at or at,
                                      "updated_at": at})
    repo.save(tenant_id, case)
    return case


def record_review_outcome(repo: ReviewCaseRepository, tenant_id: str, platform: str, review_id: str,
                          outcome: ReviewOutcome, *, at: datetime, rating_after: int | None = None) -> ReviewCase:
    """Close a followed-up negative review by hand (e.g. ``unchanged`` when the follow-up window ends)."""
    found = repo.get(tenant_id, platform, review_id)
    if found is None:
        raise InvalidArgument(f"no review {review_id}", provider=platform, field="review_id", record=review_id)
    if not found.negative or found.followed_up_at is None:
        raise InvalidArgument("only a followed-up negative review gets an outcome", provider=platform,
                              field="outcome", record=review_id)
    if outcome is ReviewOutcome.PENDING:
        raise InvalidArgument("an outcome cannot be set back to pending", provider=platform, field="outcome",
                              record=review_id)
    update: dict[str, object] = {"outcome": outcome, "outcome_at": at, "updated_at": at}
    if rating_after is not None:
        update["rating_after"] = rating_after
    try:
        case = ReviewCase.model_validate({**found.model_dump(), **update})
    except ValueError as exc:
        raise InvalidArgument(str(exc), provider=platform, field="rating_after", record=review_id) from exc
    repo.save(tenant_id, case)
    return case


class ReviewsRow(BaseModel):
    """One platform's reviews (``platform="all"``: the totals)."""

    model_config = ConfigDict(frozen=True)

    platform: str
    reviews: int
    negative: int
    followed_up: int
    improved: int
    removed: int
    unchanged: int
    follow_up_rate: Rate
    recovery_rate: Rate
    average_before: Decimal | None
    average_now: Decimal | None
    average_effect: Decimal | None


class ReviewsDay(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: date
    reviews: int
    negative: int


class ReviewsPanel(Panel):
    """Reviews written in the period and the recovery of the negative ones."""

    kind = "reviews"
    title = L("Yorum kurtarma", "Reviews recovered")

    totals: ReviewsRow
    by_platform: list[ReviewsRow]
    ratings_before: list[int]  # how many reviews had 1..5 stars as written
    ratings_now: list[int]  # and now (removed ones drop out)
    daily: list[ReviewsDay]

    @property
    def is_empty(self) -> bool:
        return self.totals.reviews == 0

    def kpis(self) -> list[Kpi]:
        t = self.totals
        effect = "–" if t.average_effect is None else ("+" if t.average_effect >= 0 else "") + fmt_decimal(
            t.average_effect)
        return [
            Kpi(key="negative", label=L("Olumsuz yorum", "Negative reviews"), value=f"{t.negative}/{t.reviews}"),
            Kpi(key="follow_up_rate", label=L("Takip oranı", "Followed up"), value=t.follow_up_rate.percent()),
            Kpi(key="recovery_rate", label=L("Kurtarma oranı", "Recovery rate"), value=t.recovery_rate.percent()),
            Kpi(key="average", label=L("Ortalama puan (önce → şimdi)", "Average rating (before → now)"),
                value=f"{fmt_decimal(t.average_before)} → {fmt_decimal(t.average_now)} ({effect})"),
        ]

    def tables(self) -> list[Table]:
        cols = [("platform", L("Platform")), ("reviews", L("Yorum", "Reviews")),
                ("negative", L("Olumsuz", "Negative")), ("followed_up", L("Takip edilen", "Followed up")),
                ("improved", L("Puanı yükselen", "Improved")), ("removed", L("Kaldırılan", "Removed")),
                ("unchanged", L("Değişmeyen", "Unchanged")), ("recovery_rate", L("Kurtarma oranı", "Recovery rate")),
                ("average_before", L("Ort. önce", "Avg before")), ("average_now", L("Ort. şimdi", "Avg now")),
                ("average_effect", L("Etki", "Effect"))]
        rows = [[r.platform, r.reviews, r.negative, r.followed_up, r.improved, r.removed, r.unchanged,
                 r.recovery_rate.value, r.average_before, r.average_now, r.average_effect]
                for r in [*self.by_platform, self.totals]]
        return [Table(key="by_platform", title=L("Platforma göre", "By platform"), columns=cols, rows=rows),
                Table(key="daily", title=L("Günlük", "Daily"),
                      columns=[("day", L("Gün", "Day")), ("reviews", L("Yorum", "Reviews")),
                               ("negative", L("Olumsuz", "Negative"))],
                      rows=[[d.day, d.reviews, d.negative] for d in self.daily])]

    def charts(self) -> list[Chart]:
        stars = [f"{i}★" for i in range(1, 6)]
        return [
            Chart(key="reviews_ratings", title=L("Puan dağılımı", "Rating distribution"), kind="bar",
                  categories=stars,
                  series=[Series(label=L("Yazıldığında", "As written"),
                                 values=[Decimal(v) for v in self.ratings_before]),
                          Series(label=L("Şimdi", "Now"), values=[Decimal(v) for v in self.ratings_now])]),
            Chart(key="reviews_outcomes", title=L("Olumsuz yorumların sonucu", "Negative reviews: outcome"),
                  kind="barh",
                  categories=["Puanı yükselen / Improved", "Kaldırılan / Removed", "Değişmeyen / Unchanged",
                              "Sonuç yok / No outcome yet"],
                  series=[Series(label=L("Yorum", "Reviews"), values=[
                      Decimal(self.totals.improved), Decimal(self.totals.removed), Decimal(self.totals.unchanged),
                      Decimal(self.totals.negative - self.totals.improved - self.totals.removed
                              - self.totals.unchanged)])]),
        ]


def _row(platform: str, cases: list[ReviewCase]) -> ReviewsRow:
    negative = [c for c in cases if c.negative]
    followed = [c for c in negative if c.followed_up_at is not None]
    count = {o: sum(1 for c in negative if c.outcome is o) for o in ReviewOutcome}
    recovered = count[ReviewOutcome.IMPROVED] + count[ReviewOutcome.REMOVED]
    before = mean([c.rating_before for c in cases])
    now = mean([r for c in cases if (r := c.current_rating) is not None])
    return ReviewsRow(
        platform=platform, reviews=len(cases), negative=len(negative), followed_up=len(followed),
        improved=count[ReviewOutcome.IMPROVED], removed=count[ReviewOutcome.REMOVED],
        unchanged=count[ReviewOutcome.UNCHANGED],
        follow_up_rate=Rate(numerator=len(followed), denominator=len(negative)),
        recovery_rate=Rate(numerator=recovered, denominator=len(followed)),
        average_before=before, average_now=now,
        average_effect=None if before is None or now is None else now - before,
    )


def reviews_panel(repo: ReviewCaseRepository, period: ReportPeriod) -> ReviewsPanel:
    """Reviews written in the period (local days), one indexed range read."""
    cases = repo.find(period.tenant_id, reviewed_from=period.start, reviewed_to=period.end)
    by_platform: dict[str, list[ReviewCase]] = defaultdict(list)
    per_day: dict[date, list[ReviewCase]] = defaultdict(list)
    for c in cases:
        by_platform[c.platform].append(c)
        per_day[period.local_date(c.reviewed_at)].append(c)
    return ReviewsPanel(
        **ReviewsPanel._head(period),
        totals=_row("all", cases),
        by_platform=[_row(p, rows) for p, rows in sorted(by_platform.items())],
        ratings_before=[sum(1 for c in cases if c.rating_before == s) for s in range(1, 6)],
        ratings_now=[sum(1 for c in cases if c.current_rating == s) for s in range(1, 6)],
        daily=[ReviewsDay(day=d, reviews=len(per_day[d]), negative=sum(1 for c in per_day[d] if c.negative))
               for d in period.days()] if cases else [],
    )
