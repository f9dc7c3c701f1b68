"""Training and assessment: courses per product category and skill, attendance and exam results
that grant or renew certificates, and periodic assessments (考核) that can withdraw a skill."""
