"""All of journey's models, so there is one app label (``journey``) and one migration history.

Tool folders keep their models in their own modules; this file imports them.
"""

from .browse.models import BrowseProgram, BrowseReminder
from .core.consent_models import ConsentRecord
from .core.experiments.models import Assignment, ErasedTally, Experiment, ExperimentOrder
from .core.models import (
    JobState,
    JourneyEvent,
    LinkToken,
    Message,
    PersonalValueCondition,
    PersonalVoucher,
    Suppression,
    TrackingEvent,
    VoucherRedemption,
)
from .insights.ga4_models import GA4Delivery
from .insights.models import FunnelDay, JourneyMap, LaneNote, Persona, RollupDay, ToolDay
from .loyalty.birthdays.models import BirthdayProgram, BirthdayReward
from .loyalty.followups.models import PostPurchaseProgram, WinbackProgram
from .loyalty.profiles.models import CustomerProfile
from .pricedrops.models import PriceWatch
from .promotions.campaigns.models import Campaign, CampaignTouch, CodeBatch
from .promotions.quantity.benefits import BuyXPayYBenefit
from .promotions.quantity.models import QuantityPromotion, QuantityTier
from .recovery.models import BasketActivity, RecoveryStep
from .related.models import RelatedBuild, RelatedClick, RelatedProduct, RelatedRule

__all__ = [
    "Assignment",
    "ErasedTally",
    "Experiment",
    "ExperimentOrder",
    "BasketActivity",
    "BirthdayProgram",
    "BirthdayReward",
    "BrowseProgram",
    "BrowseReminder",
    "BuyXPayYBenefit",
    "Campaign",
    "CampaignTouch",
    "CodeBatch",
    "ConsentRecord",
    "CustomerProfile",
    "GA4Delivery",
    "FunnelDay",
    "JobState",
    "JourneyEvent",
    "JourneyMap",
    "LaneNote",
    "LinkToken",
    "Message",
    "Persona",
    "PersonalValueCondition",
    "PersonalVoucher",
    "QuantityPromotion",
    "QuantityTier",
    "PostPurchaseProgram",
    "PriceWatch",
    "RecoveryStep",
    "RelatedBuild",
    "RelatedClick",
    "RelatedProduct",
    "RelatedRule",
    "RollupDay",
    "Suppression",
    "ToolDay",
    "TrackingEvent",
    "VoucherRedemption",
    "WinbackProgram",
]
