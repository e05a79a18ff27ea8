"""reviews list|approve|reject: manual reviews of real-name data (人工审核)."""

from __future__ import annotations

import argparse

from bot.accounts.masking import mask_phone
from bot.accounts.models import ManualReview
from bot.cli.common import DECISIONS, Commands, actor, add_command, add_group, decision, open_services
from bot.cli.views import photo_line, reviews_table


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    group = add_group(commands, "reviews", "manual reviews of real-name data (人工审核)")
    listing = add_command(group, common, "list", "list manual reviews, oldest first", list_reviews)
    listing.add_argument("--state", choices=DECISIONS, help="only reviews in this state")
    approve_parser = add_command(
        group,
        common,
        "approve",
        "approve a pending review: the account becomes verified_manual and the user gets an SMS",
        approve,
    )
    approve_parser.add_argument("id", metavar="ID", type=int, help="review id (see reviews list)")
    reject_parser = add_command(
        group,
        common,
        "reject",
        "reject a pending review: the account's state becomes failed and the user gets the reason by SMS",
        reject,
    )
    reject_parser.add_argument("id", metavar="ID", type=int, help="review id (see reviews list)")
    reject_parser.add_argument("--reason", required=True, help="why, in words the user understands (sent by SMS)")


def list_reviews(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        accounts = services.accounts
        reviews = accounts.list_reviews(decision(args.state))
        photos = [
            photo_line(f"review {review.id}", accounts.stored_photos([review.front_upload_id, review.back_upload_id]))
            for review in reviews
            if review.state == "pending"
        ]
    logins = {review.account_id: review.account.login_name for review in reviews}
    print(reviews_table(reviews, logins) if reviews else "no reviews")
    for line in photos:
        print(line)
    return 0


def approve(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        review = services.accounts.decide_review(args.id, True, None, actor())
    print(_decided(review, True))
    return 0


def reject(args: argparse.Namespace) -> int:
    with open_services(args) as services:
        review = services.accounts.decide_review(args.id, False, args.reason, actor())
    print(_decided(review, False))
    return 0


def _decided(review: ManualReview, approved: bool) -> str:
    account = review.account
    state = "verified_manual" if approved else "failed"
    sms = f"SMS sent to {mask_phone(account.phone)}" if account.phone else "no reserved phone, no SMS sent"
    return f"review {review.id} {'approved' if approved else 'rejected'}: {account.login_name} is now {state}; {sms}"
