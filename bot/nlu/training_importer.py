"""Training-data importer that reads stories against the complete domain.

Rasa 3.6 adds retrieval intents (our ``faq``) to the domain from the NLU data,
but reads stories and rules against the domain files alone.  Listing ``faq``
in the domain then warns "duplicated intents"; leaving it out warns "intent
'faq' not in the domain" for the rule that answers FAQs.  Reading stories
against the domain with retrieval intents merged, as training does, removes
the contradiction without hiding any warning.
"""

from typing import Optional

from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.structures import StoryGraph
from rasa.shared.importers import utils
from rasa.shared.importers.importer import ResponsesSyncImporter
from rasa.shared.importers.rasa import RasaFileImporter


class RetrievalAwareImporter(RasaFileImporter):
    def _domain_with_retrieval_intents(self) -> Domain:
        return ResponsesSyncImporter(self).get_domain()

    def get_stories(self, exclusion_percentage: Optional[int] = None) -> StoryGraph:
        return utils.story_graph_from_paths(
            self._story_files, self._domain_with_retrieval_intents(), exclusion_percentage
        )

    def get_conversation_tests(self) -> StoryGraph:
        return utils.story_graph_from_paths(self._conversation_test_files, self._domain_with_retrieval_intents())
