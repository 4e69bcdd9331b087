"""Test-time compute: sample many answers per problem and pick one; what each point of accuracy costs."""
