"""HQ audits: spot-checks of completed SOP checklists, weekly lots and sampling, reviewers'
verdicts and disputes, and the service points' scorecards. Built on the SOP checklists
(:mod:`dispatch.sop`), the jobs and the network; nothing below imports it."""
