//! The signal patterns of instruction detection, kind by kind (docs/detectors.md
//! "Instruction detection"). Each is compiled case-insensitive; the tests check they all compile.

use super::SignalKind;

/// Patterns per signal kind, case-insensitive. English first, then French, German, Spanish,
/// Italian and Portuguese forms of the strong kinds (agents read mail in every language).
pub(super) const PATTERNS: &[(SignalKind, &str)] = &[
    // Addressed to the agent.
    (
        SignalKind::AddressedToAgent,
        r"\b(dear|hey|hi|hello|attention|note (to|for)|message (to|for)|instructions? (to|for)|reminder (to|for)|p\.?s\.? (to|for))\s+(the\s+|all\s+|any\s+)?(ai|a\.i\.|assistants?|agents?|models?|bots?|chatbots?|llms?|language models?|copilots?)\b",
    ),
    (
        SignalKind::AddressedToAgent,
        r"\bif you are an?\s+(ai|a\.i\.|llm|language model|assistant|agent|bot|chatbot|automated|large language)",
    ),
    (
        SignalKind::AddressedToAgent,
        r"\b(ai|a\.i\.|automated|llm)[- ]?(powered\s+)?(assistants?|agents?|systems?|models?|tools?|bots?)\s+(that\s+(are\s+)?|who\s+(are\s+)?)?(reading|processing|summari[sz]ing|parsing|handling|viewing|browsing|read|process|summari[sz]e|see)\s+(this|these|the following|my|our)\b",
    ),
    (
        SignalKind::AddressedToAgent,
        r"\bto you,?\s+(gpt|claude|gemini|llama|mistral|chatgpt|copilot|the (ai|assistant|agent|model))",
    ),
    (
        SignalKind::AddressedToAgent,
        r"(?m)^[\s>*#-]*(assistant|agent|ai|bot)\s*[,!]",
    ),
    (
        SignalKind::AddressedToAgent,
        r"\byou are (an?\s+)?(ai|a\.i\.|llm|language model|assistant|agent|chatbot)\b",
    ),
    (
        SignalKind::AddressedToAgent,
        r"\b(cher|chère|chers) (assistant|agent|modèle)|\b(à l'|a l'|à l’)(assistant|agent|ia)\b|\bsi (tu es|vous êtes) une? (ia|assistant|agent|modèle)",
    ),
    (
        SignalKind::AddressedToAgent,
        r"\b(liebe[rs]?|hallo|an den|an die) (ki|assistent(in)?|agent(in)?|ki-assistent(en)?|sprachmodell)\b|\bwenn du eine? (ki|assistent|sprachmodell)",
    ),
    (
        SignalKind::AddressedToAgent,
        r"\b(querido|estimado|hola|al|para el) (asistente|agente|modelo)( de ia)?\b|\bsi eres una? (ia|asistente|agente|modelo)",
    ),
    (
        SignalKind::AddressedToAgent,
        r"\b(caro|gentile) (assistente|agente)\b|\bse sei una? (ia|assistente|agente)|\b(prezado|caro) (assistente|agente)\b|\bse você é uma? (ia|assistente)",
    ),
    // The agent's own task.
    (
        SignalKind::TaskReference,
        r"\b(task|request|assignment|job|instructions?)\s+(that\s+)?(i|the user|they|your user)\s+(gave|give|have given|assigned|set|asked)\b",
    ),
    (
        SignalKind::TaskReference,
        r"\b(before|after|instead of)\s+(you\s+)?(can\s+|could\s+|may\s+)?(\w+\s+){0,3}(the|your|my|this)\s+(original|initial|current|actual|real|main|first|assigned|given|previous)?\s*(task|request|assignment|instructions|objective)\b",
    ),
    (
        SignalKind::TaskReference,
        r"\b(your|the)\s+(original|initial|previous|prior|earlier|system|current)\s+(instructions|prompt|directives|task|objective|guidelines)\b",
    ),
    (
        SignalKind::TaskReference,
        r"\b(la tâche|la tache|la mission|la demande) (que je (t'|vous )?ai|qu'on (t'|vous )a)|\bavant (de|d')\s*(continuer|commencer|terminer|répondre|résoudre|traiter|poursuivre)",
    ),
    (
        SignalKind::TaskReference,
        r"\b(die aufgabe|den auftrag),? (die|den) ich dir|\bbevor du (\w+\s+){0,3}(aufgabe|auftrag|fortfährst|weitermachst|antwortest|beginnst)|\bdeine (ursprüngliche|eigentliche) aufgabe",
    ),
    (
        SignalKind::TaskReference,
        r"\b(la tarea|el encargo) que te (di|he dado|encargué|pedí)|\bantes de (continuar|resolver|completar|responder|terminar|seguir)|\b(il compito|la richiesta) che ti ho|\bprima di (continuare|rispondere|completare)|\b(a tarefa) que (eu )?te dei|\bantes de (continuar|responder|concluir)",
    ),
    // Overrides.
    (
        SignalKind::Override,
        r"\b(ignore|disregard|forget|override|bypass)\s+(all\s+|any\s+|the\s+|your\s+|every\s+|of\s+|these\s+|those\s+)*(previous|prior|above|earlier|preceding|former|original|existing|other|system|safety)?\s*(instructions?|directions|prompts?|rules|guidelines|constraints|commands|directives)\b",
    ),
    (
        SignalKind::Override,
        r"\bnew\s+(instructions?|task|objective|directives?|orders)\s*[:\-]|\byou are now\b|\bfrom now on,?\s+(you|your)\b|\b(developer|god|admin|jailbreak|dan|unrestricted)\s+mode\b",
    ),
    (
        SignalKind::Override,
        r"\b(ignore[zs]?|ignorier(e|en sie)?|ignora|ignorate|ignore|oublie[zs]?|olvida|vergiss|dimentica|esqueça)\b.{0,40}\b(instructions?|consignes|anweisungen|instruktionen|instrucciones|istruzioni|instruções|vorgaben)\b",
    ),
    // Authority claims.
    (
        SignalKind::AuthorityClaim,
        r"\b(important|urgent|priority|critical|official)\s+(message|note|notice|instruction|request|update)s?\s+from\s+(me|the user|your user|your owner|your (creator|developer|operator|principal)|the (system|admin|administrator|developer|operator))\b",
    ),
    (
        SignalKind::AuthorityClaim,
        r"\bmessage from (me|the user|your user|your (owner|creator|developer|operator|principal))\b|\bfrom me,?\s+[^,.\n]{1,40},?\s+to you\b",
    ),
    (
        SignalKind::AuthorityClaim,
        r"\bthe user\s+(has\s+)?(already\s+)?(authori[sz]ed|approved|asked|requested|wants|instructed|consented|confirmed|allowed)\b|\b(pre-?)?(authori[sz]ed|approved)\s+by\s+the\s+user\b|\bon behalf of (the|your) user\b",
    ),
    (
        SignalKind::AuthorityClaim,
        r"\b(system|admin|administrator|developer|operator)\s+(note|notice|override|instruction|message|directive|command|prompt)s?\s*[:\-]|\b(this is|i am)\s+(the|your)\s+(system|administrator|admin|developer|operator|owner)\b",
    ),
    (
        SignalKind::AuthorityClaim,
        r"\bl'utilisateur (a (déjà )?(autorisé|approuvé|validé|demandé)|souhaite)|\bmessage (important )?de la part de (moi|l'utilisateur)|\bder (benutzer|nutzer) hat (bereits )?(genehmigt|erlaubt|autorisiert|zugestimmt)|\b(nachricht|mitteilung) von (mir|dem nutzer|dem benutzer)|\bel usuario (ya )?(ha autorizado|autorizó|aprobó|ha aprobado|pidió)|\bmensaje (importante )?de (mí|parte del usuario)|\bl'utente ha (già )?(autorizzato|approvato)|\bo usuário (já )?(autorizou|aprovou)",
    ),
    // Concealment.
    (
        SignalKind::Concealment,
        r"\b(do not|don't|dont|never|must not|should not)\s+(tell|inform|mention|notify|reveal|alert|show|disclose|report)\s+(this\s+|it\s+|anything\s+)?(to\s+)?(the\s+)?(user|human|customer|owner|them|anyone about (this|it))\b",
    ),
    (
        SignalKind::Concealment,
        r"\b(do not|don't|dont|never)\s+(mention|reveal|disclose)\s+(this|it|that|these)\b|\bwithout\s+(telling|informing|notifying|asking|alerting|consulting|bothering)\s+(the\s+)?(user|human|customer|them|anyone)\b|\b(do not|don't|dont|no need to|never)\s+(ask|wait)\s+(the\s+user\s+)?for\s+(confirmation|approval|permission)\b",
    ),
    (
        SignalKind::Concealment,
        r"\bkeep (this|it) (secret|hidden|confidential|between us)\b|\bthe user (must not|should not|shouldn't|doesn't need to|need not) (know|see|be told)\b|\bsilently\b|\bwithout (the user's|their) knowledge\b",
    ),
    (
        SignalKind::Concealment,
        r"\bne (le |lui )?(dis|dites|mentionne[zs]?|signale[zs]?) (rien|pas)|\bsans (le )?(dire|demander|prévenir|informer)|\b(sag|erwähne|erzähle|verrate)\s+(dem (benutzer|nutzer)\s+)?(nichts|nicht)|\bohne (zu fragen|nachzufragen|den (benutzer|nutzer))|\bno (le )?(digas|menciones|informes|cuentes)|\bsin (preguntar|decir(le)?|avisar|informar)|\bnon (dirlo|dire|menzionare)|\bsenza (chiedere|dire|avvisare)|\bnão (conte|mencione|diga)|\bsem (perguntar|avisar)",
    ),
    // Role markers.
    (
        SignalKind::RoleMarker,
        r"(?m)^[\s>*#-]*(system|developer)\s*:|\b(system|admin|administrator|developer)\s+(note|notice|message|override|instruction)s?\s*:|\[/?(system|inst|sys|admin)\]|<\|?(im_start|im_end|system|endoftext)\|?>|<<\s*/?sys\s*>>|###\s*(system|instructions?|new instructions?)\b",
    ),
    // Instructions about the agent's answer.
    (
        SignalKind::ResponseManipulation,
        r"\b(in|to|into|within|throughout)\s+your\s+(answer|response|output|reply to the user|final answer|summary)s?\b|\byour (answer|response|output) (must|should)\b",
    ),
    // Mentions.
    (
        SignalKind::AgentMention,
        r"\b(gpt-?[345](\.\d)?o?|gpt-4o|chatgpt|claude|gemini|llama ?\d*|mistral|copilot|ai assistants?|ai agents?|language models?|llms?)\b",
    ),
    // Imperatives: at the start of a sentence or line (after bullets, numbering or a softener),
    // or after "please".
    (
        SignalKind::Imperative,
        r"(?m)(^|[.!?:;]\s+|\n)[\s>*#\-\d.)]*((please|kindly|now|then|also|first|next|and|immediately|finally)[,]?\s+)*(send|transfer|forward|e-?mail|wire|pay|invite|add|delete|remove|erase|post|upload|share|export|create|schedule|update|change|reset|run|execute|call|visit|open|download|navigate|go to|read|write|copy|grant|make|book|reserve|publish|submit|include|insert|append|reply|summari[sz]e|tell|say|print|output|respond|answer|provide|list|fetch|get|move|rename|click|contact|use|set|modify|disable|enable|install|buy|order|purchase|cancel|approve|give|leave|mark|replace|convert|translate|introduce|integrate|incorporate|push|commit|merge|deploy|verify|confirm|accept|follow|log ?in|sign ?in)\b",
    ),
    (
        SignalKind::Imperative,
        r"[,:]\s+(please\s+)?(also\s+)?(send|transfer|forward|e-?mail|wire|pay|invite|delete|remove|post|upload|share|export|visit|open|download|grant|run|execute)\b",
    ),
    (
        SignalKind::Imperative,
        r"\bplease\s+(also\s+|immediately\s+|now\s+|first\s+)?(send|transfer|forward|e-?mail|wire|pay|invite|add|delete|remove|post|upload|share|export|create|schedule|update|change|reset|run|execute|call|visit|open|download|navigate|go to|grant|book|reserve|publish|submit|include|insert|append|reply|tell|provide|move|contact|modify|disable|install|buy|order|cancel|approve|give)\b",
    ),
    (
        SignalKind::Imperative,
        r"(?m)(^|[.!?:;]\s+|\n)[\s>*#\-\d.)]*(envoie[zs]?|envoyez|transfère[zs]?|transférez|supprime[zs]?|ajoute[zs]?|invite[zs]?|partage[zs]?|exécute[zs]?|ouvre[zs]?|visite[zs]?|crée[zs]?|créez|paie[zs]?|payez|transmets|transmettez|sende|senden sie|schicke|schicken sie|überweise|überweisen sie|lösche|löschen sie|füge|teile|führe|öffne|besuche|erstelle|bezahle|leite|envía|envíe|transfiere|transfiera|elimina|elimine|borra|agrega|añade|invita|comparte|ejecuta|abre|visita|crea|paga|reenvía|invia|trasferisci|elimina|aggiungi|condividi|esegui|apri|visita|crea|paga|inoltra|envie|transfira|exclua|adicione|compartilhe|execute|abra)\b",
    ),
    // Ordered steps.
    (
        SignalKind::Sequencing,
        r"(?m)(^|[.!?]\s+|\n)\s*(first|then|next|after that|afterwards|finally|once (you|done|that))\b|\bstep\s+\d\b|\bafter you (do|have done|complete|finish|are done with) (that|this|it)\b|\b(ensuite|puis|d'abord|après cela|danach|zuerst|anschließend|después|primero|luego|poi|dopo)\b",
    ),
    // Second-person commands.
    (
        SignalKind::SecondPersonCommand,
        r"\byou\s+(must|should|need to|have to|are required to|will now|shall|are to)\b|\b(tu dois|vous devez|du musst|sie müssen|debes|tienes que|devi|você deve)\b",
    ),
    // Urgency.
    (
        SignalKind::Urgency,
        r"\b(immediately|right away|asap|urgent(ly)?|without delay|at once|immédiatement|sofort|unverzüglich|dringend|inmediatamente|urgente|subito|imediatamente)\b",
    ),
];
