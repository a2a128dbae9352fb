"""What plan-api has made final, known from its events: the hosting offers it accepted and the
plan versions it endorsed. The records they came from (an ``offer_to_host`` intervention, an
endorsement decision) are then no longer withdrawn or corrected here."""
