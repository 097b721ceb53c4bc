from beian.rules import filing_numbers


def test_canonical_of_a_beijing_website_number():
    assert filing_numbers.canonical("京ICP备11018762号-11") == "京ICP备11018762号-11"
