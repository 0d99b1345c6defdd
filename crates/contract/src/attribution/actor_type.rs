use crate::wire_enum;

wire_enum! {
    /// Who started a run. A closed set: adding a value needs a contract change.
    pub enum ActorType {
        /// A person with an identity (`actor_id` required).
        Human = "HUMAN",
        /// Automation: cron, scheduler, policy trigger (`actor_id` must be null).
        System = "SYSTEM",
        /// A non-human service principal (`actor_id` must be null).
        Service = "SERVICE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_prints_upper() {
        assert_eq!(ActorType::parse("human"), Some(ActorType::Human));
        assert_eq!(ActorType::parse("SyStEm"), Some(ActorType::System));
        assert_eq!(ActorType::parse("SERVICE"), Some(ActorType::Service));
        assert_eq!(ActorType::Service.to_string(), "SERVICE");
        assert_eq!(ActorType::allowed(), "HUMAN, SYSTEM, SERVICE");
    }

    #[test]
    fn rejects_anything_outside_the_closed_set() {
        for raw in ["BOT", "AGENT", "", " HUMAN", "HUMAN "] {
            assert_eq!(ActorType::parse(raw), None, "{raw:?}");
        }
    }
}
