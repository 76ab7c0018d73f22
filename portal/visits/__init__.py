"""On-site visit days (seed 001's top level: "a physical visit two days a week during the
implementation"): staff schedule a consultant's day at the customer's address within what the
plan in force includes; a visit held is logged as time through ``portal.plans.hours``.

It sits above ``plans`` (the rules it asks) and onboarding's ``availability`` (a consultant's
holidays and days off), below ``org``, whose page shows and changes the visits."""
