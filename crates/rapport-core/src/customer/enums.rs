//! The closed vocabularies of the customer record, with the input aliases of SPEC section 1.

use serde::{Deserialize, Serialize};

macro_rules! vocabulary {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? } aliases { $($alias:literal => $target:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Accepts the canonical names (any case) and the documented aliases.
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim().to_ascii_lowercase();
                match s.as_str() {
                    $($text => Some($name::$variant),)+
                    $($alias => Some($name::$target),)*
                    _ => None,
                }
            }

            /// The accepted names, for error messages.
            pub fn expected() -> String {
                [$($text),+].join(", ")
            }
        }
    };
}

vocabulary!(
    /// What kind of party the customer is.
    CustomerType {
        Individual = "individual",
        Business = "business",
        Enterprise = "enterprise",
        NonProfit = "non_profit",
        Government = "government",
    } aliases { "private" => Individual, "company" => Business, "non-profit" => NonProfit, "nonprofit" => NonProfit }
);

vocabulary!(
    /// Whether the relationship is live.
    Status { Active = "active", Inactive = "inactive", Archived = "archived" } aliases {}
);

vocabulary!(
    /// Where the customer stands in the pipeline; ordered from first touch to churn.
    LifecycleStage { Prospect = "prospect", Lead = "lead", Customer = "customer", Churned = "churned" } aliases {}
);

vocabulary!(
    /// How the customer first reached the tenant.
    Source {
        Website = "website",
        Referral = "referral",
        SocialMedia = "social_media",
        Advertising = "advertising",
        TradeShow = "trade_show",
        ColdCall = "cold_call",
        EmailCampaign = "email_campaign",
        Chat = "chat",
        Manual = "manual",
        Import = "import",
        Api = "api",
        Other = "other",
    } aliases {}
);

vocabulary!(
    /// One BANT qualification answer.
    Answer { Unknown = "unknown", Yes = "yes", No = "no" } aliases {}
);

#[allow(clippy::derivable_impls)] // the macro owns the derive list
impl Default for Answer {
    fn default() -> Self {
        Answer::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_of_section_one() {
        assert_eq!(CustomerType::parse("private"), Some(CustomerType::Individual));
        assert_eq!(CustomerType::parse("Company"), Some(CustomerType::Business));
        assert_eq!(CustomerType::parse("non-profit"), Some(CustomerType::NonProfit));
        assert_eq!(Status::parse("lead"), None);
        assert_eq!(Source::parse("trade_show"), Some(Source::TradeShow));
    }
}
